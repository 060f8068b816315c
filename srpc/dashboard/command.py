"""The ``metrics`` command (``srpc metrics``, ``srpc-metrics``): live dashboard and snapshots."""

from __future__ import annotations

import json
import os
import selectors
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.live import Live

from srpc._cli_common import VersionOption, fail
from srpc.dashboard.aggregate import MetricsAggregate, Snapshot
from srpc.dashboard.follow import LogFollower
from srpc.dashboard.view import build_dashboard, build_plain

__all__ = ["metrics"]

_QUIT_KEYS = (b"q", b"Q", b"\x03", b"\x04")
_MAX_BLOCKS_PER_FRAME = 4
"""Blocks (up to 4 MiB each) read between two refreshes, so a huge log still shows progress."""


def metrics(
    log: Annotated[
        str,
        typer.Argument(
            help=(
                "The server's metrics log, or nats://HOST:PORT/SERVICE for every instance of a "
                "service serving over NATS."
            ),
            metavar="LOG",
            show_default=True,
        ),
    ] = "srpc_server_metrics.log",
    once: Annotated[
        bool, typer.Option("--once", help="Print one snapshot as a plain table and exit.")
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print one snapshot as JSON and exit.")
    ] = False,
    refresh: Annotated[
        float,
        typer.Option(
            "--refresh",
            min=0.05,
            max=10.0,
            metavar="<seconds>",
            help="Seconds between screen refreshes.",
        ),
    ] = 0.25,
    version: VersionOption = False,
) -> None:
    """Show an srpc server's metrics log as a live dashboard (q or Ctrl-C quits).

    One row per procedure: calls, ok, failed, error %, calls/s, latency
    p50/p95/p99/max and the last error, with totals, each server's state and
    uptime, and a chart of the last minute. The log and its rotated backups
    are read, then followed. Without a terminal, or with --once, one plain
    snapshot is printed; --json prints it as JSON.

    With nats://HOST:PORT/SERVICE the figures come from every instance of
    the service, polled through the NATS service protocol ($SRV.STATS)
    several times a second: a row per procedure over all instances and one
    per procedure and instance (add @ INSTANCE_ID); calls/s from the polls,
    latencies over each instance's life.

    Example:

      srpc-metrics srpc_server_metrics.log

      srpc-metrics srpc_server_metrics.log --once

      srpc-metrics nats://127.0.0.1:4222/calc
    """
    if log.strip().lower().startswith(("nats://", "tls://")):
        _metrics_over_nats(log, once or json_ or not sys.stdout.isatty(), json_, refresh)
        return
    path = Path(log)
    if json_ or once or not sys.stdout.isatty():
        snapshot = _read_snapshot(path)
        _print_once(snapshot, json_, "log", str(path))
        return
    _run_live(path, refresh)


def _print_once(snapshot: Snapshot, json_: bool, source: str, label: str) -> None:
    if json_:
        data = {source: label, **snapshot.to_dict()}
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 160))
    with console.capture() as captured:
        console.print(build_plain(snapshot, label, source=source))
    lines = captured.get().splitlines()
    sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))


_NATS_POLL_WAIT = 0.15
"""Seconds each poll waits for the instances' STATS replies (they come in about a millisecond
on a LAN; one that needs longer shows as silent after a few polls)."""
_ONCE_GAP = 0.5
"""Seconds between the two polls of ``--once`` over NATS, so it can show calls/s."""


def _metrics_over_nats(target: str, once: bool, json_: bool, refresh: float) -> None:
    from srpc._nats_tools import NatsUnavailable, StatsPoller, parse_nats_target
    from srpc.dashboard.instances import InstancesAggregate

    try:
        nats_target = parse_nats_target(target)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="LOG") from None
    if nats_target.service is None:
        raise typer.BadParameter(
            f"name the service: {nats_target.address}/SERVICE "
            f"(srpc services {nats_target.address} lists them)",
            param_hint="LOG",
        )
    label = f"{nats_target.address}/{nats_target.service}"
    aggregate = InstancesAggregate(nats_target.service)
    try:
        poller = StatsPoller(nats_target, _NATS_POLL_WAIT)
    except NatsUnavailable as exc:
        fail(f"srpc-metrics: {exc}")
    try:
        if once:
            aggregate.feed(poller.poll(), time.time())
            time.sleep(_ONCE_GAP)
            aggregate.feed(poller.poll(), time.time())
            snapshot = aggregate.snapshot(time.time())
            if not snapshot.servers:
                fail(
                    f"srpc-metrics: no instance of {nats_target.service} answers on "
                    f"{nats_target.address} (srpc services {nats_target.address} lists what runs)"
                )
            _print_once(snapshot, json_, "nats", label)
            return

        def frame() -> RenderableType:
            note = None
            try:
                aggregate.feed(poller.poll(), time.time())
            except NatsUnavailable as exc:
                note = str(exc)
            snapshot = aggregate.snapshot(time.time())
            if note is None and not snapshot.servers:
                note = "waiting for an instance to answer"
            return build_dashboard(snapshot, label, source="nats", note=note)

        _live(frame, refresh)
    except NatsUnavailable as exc:
        fail(f"srpc-metrics: {exc}")
    finally:
        poller.close()


def _read_snapshot(log: Path) -> Snapshot:
    if not log.exists():
        fail(f"srpc-metrics: no metrics log at {log} (is the server running from this directory?)")
    if log.is_dir():
        fail(f"srpc-metrics: {log} is a directory, not a metrics log")
    try:
        with open(log, "rb"):
            pass
    except OSError as exc:
        fail(f"srpc-metrics: cannot read {log}: {exc.strerror or exc}")
    aggregate = MetricsAggregate()
    with LogFollower(log) as follower:
        while True:
            block = follower.poll()
            aggregate.feed(block)
            if not block and not follower.advanced:
                break
        aggregate.malformed += follower.dropped_partial
    return aggregate.snapshot(time.time())


def _run_live(log: Path, refresh: float) -> None:
    aggregate = MetricsAggregate()
    follower = LogFollower(log)
    dropped_seen = 0

    def frame() -> RenderableType:
        nonlocal dropped_seen
        for _ in range(_MAX_BLOCKS_PER_FRAME):
            block = follower.poll()
            aggregate.feed(block)
            if not block and not follower.advanced:
                break
        if follower.dropped_partial != dropped_seen:
            aggregate.malformed += follower.dropped_partial - dropped_seen
            dropped_seen = follower.dropped_partial
        return build_dashboard(
            aggregate.snapshot(time.time()), str(log), waiting=not follower.exists
        )

    try:
        _live(frame, refresh)
    finally:
        follower.close()


def _live(frame: Callable[[], RenderableType], refresh: float) -> None:
    """Full screen: draw ``frame()`` about every ``refresh`` seconds until q or Ctrl-C."""
    # a shell's COLUMNS/LINES are the size at launch; rich would pin them, the screen must follow
    # the terminal as it is resized
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
    console = Console()
    try:
        with _QuitKeys() as keys, Live(console=console, screen=True, auto_refresh=False) as live:
            while True:
                began = time.monotonic()
                live.update(frame(), refresh=True)
                if keys.wait(max(0.02, refresh - (time.monotonic() - began))):
                    break
    except KeyboardInterrupt:
        pass


class _QuitKeys:
    """Reads keys from the terminal in cbreak mode; restores its settings on exit."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._saved: list[Any] | None = None
        self._selector: selectors.BaseSelector | None = None

    def __enter__(self) -> _QuitKeys:
        try:
            import termios
            import tty
        except ImportError:  # pragma: no cover - not a POSIX terminal
            return self
        if not sys.stdin.isatty():
            return self
        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._fd = fd
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._selector is not None:
            self._selector.close()
        if self._fd is not None and self._saved is not None:
            import termios

            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True if a quit key was pressed."""
        if self._selector is None or self._fd is None:
            time.sleep(timeout)
            return False
        if not self._selector.select(timeout):
            return False
        data = os.read(self._fd, 64)
        return not data or any(k in data for k in _QUIT_KEYS)
