"""Rich renderables built from a :class:`Snapshot`: pure functions, no I/O, no clock."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from srpc.dashboard.aggregate import ServerSnapshot, Snapshot

__all__ = [
    "build_dashboard",
    "build_plain",
    "build_procs_table",
    "format_duration",
    "format_ms",
    "sparkline",
]

_BLOCKS = "▁▂▃▄▅▆▇█"


def format_ms(value: float | None) -> str:
    """A latency in milliseconds with about three significant digits."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def format_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}h{m:02d}m{sec:02d}s" if h else f"{m}m{sec:02d}s"


def format_rate(rate: float) -> str:
    return f"{rate:,.1f}" if rate < 1000 else f"{rate:,.0f}"


def sparkline(values: Sequence[int]) -> str:
    """One block character per value, scaled to the largest; zero is a blank."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    steps = len(_BLOCKS)
    return "".join(
        " " if v <= 0 else _BLOCKS[min(steps - 1, (v * steps - 1) // top)] for v in values
    )


def _clock(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


_MAX_SERVER_LINES = 6
"""Servers listed in the header when several write the log; the rest are counted."""


def _server_name(server: ServerSnapshot) -> str:
    parts = [server.instance or "(unnamed)"]
    if server.pid is not None:
        parts.append(f"pid {server.pid}")
    if server.address:
        parts.append(server.address)
    if server.fingerprint:
        parts.append(f"fingerprint {server.fingerprint[:12]}")
    return " ".join(parts)


def _server_state(server: ServerSnapshot) -> Text:
    if server.state == "running":
        return Text.assemble(("running", "green"), f"  up {format_duration(server.uptime_s)}")
    if server.state == "silent":
        return Text.assemble(
            (f"silent since {_clock(server.last_seen)} (no stop event)", "red"),
            f"  after {format_duration(server.uptime_s)}",
        )
    return Text.assemble(
        (f"stopped at {_clock(server.stopped_at)}", "yellow"),
        f"  after {format_duration(server.uptime_s)}",
    )


def _server_lines(servers: list[ServerSnapshot]) -> Text:
    text = Text()
    running = sum(1 for s in servers if s.running)
    silent = sum(1 for s in servers if s.state == "silent")
    text.append(f"servers {running} running, {len(servers) - running - silent} stopped")
    if silent:
        text.append(f", {silent} silent")
    for server in servers[:_MAX_SERVER_LINES]:
        text.append(f"\n  {_server_name(server)}  ")
        text.append(_server_state(server))
        text.append(f"  calls {server.calls:,}  failed {server.failed:,}")
    if len(servers) > _MAX_SERVER_LINES:
        text.append(f"\n  ... and {len(servers) - _MAX_SERVER_LINES} more (stopped earlier)")
    return text


def build_header(
    snapshot: Snapshot,
    log: str,
    *,
    waiting: bool = False,
    source: str = "log",
    note: str | None = None,
) -> Text:
    """``source`` says what ``log`` is: ``log`` (a metrics log) or ``nats`` (a service's
    instances on a NATS server, ``log`` its URL); ``note`` replaces the waiting text."""
    s = snapshot
    text = Text()
    text.append("srpc-metrics", style="bold")
    text.append(f"  service {s.service or '-'}  {source} {log}")
    if note:
        text.append(f"  ({note})", style="yellow")
    elif waiting:
        text.append("  (waiting for the log to appear)", style="yellow")
    elif s.stopped_at is not None:
        text.append(f"  server stopped at {_clock(s.stopped_at)}", style="yellow")
    elif len(s.servers) == 1 and s.servers[0].state == "silent":
        text.append("  server ")
        text.append(_server_state(s.servers[0]))
    if len(s.servers) == 1 and s.servers[0].instance is not None:
        text.append(f"  server {_server_name(s.servers[0])}")
    text.append("\n")
    if len(s.servers) > 1:
        text.append(_server_lines(s.servers))
        text.append("\n")
    text.append(f"uptime {format_duration(s.uptime_s)}  ")
    text.append(f"calls {s.calls:,}  ok {s.ok:,}  ")
    text.append(f"failed {s.failed:,} ({s.error_pct:.1f}%)", style="red" if s.failed else "")
    if source == "log":
        text.append(f"  malformed lines {s.malformed:,}", style="yellow" if s.malformed else "")
    if s.stream_calls or s.streams_open:
        text.append(f"\nstreams: {s.stream_calls:,} calls, {s.streams_open:,} open now")
    text.append("\n")
    text.append(
        f"rate {format_rate(s.rate)} calls/s (last {s.rate_window_s}s)"
        f"  {format_rate(s.overall_rate)} calls/s overall"
    )
    return text


def build_procs_table(snapshot: Snapshot, *, plain: bool = False, errors: bool = True) -> Table:
    """One row per procedure; ``errors=False`` leaves out the last-error column."""
    table = Table(
        box=box.SIMPLE_HEAD if plain else box.ROUNDED,
        expand=not plain,
        show_edge=not plain,
        header_style="" if plain else "bold",
        pad_edge=not plain,
        collapse_padding=plain,
        caption=(
            f"latencies in ms (percentiles within {snapshot.relative_error:.0%}); "
            f"calls/s over the last {snapshot.rate_window_s}s"
        ),
        caption_justify="left",
        caption_style="" if plain else "dim",
    )
    # numbers are never cut: when space is short, the name and the error wrap instead
    table.add_column("procedure", overflow="fold", min_width=9)
    streaming = any(p.streams for p in snapshot.procs)
    for name in ("calls", "ok", "failed", "err%", "calls/s", "p50", "p95", "p99", "max"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    if streaming:  # only for services that stream: items taken in / sent out, over their calls
        table.add_column("items in/out", justify="right", no_wrap=True, min_width=12)
    if errors:
        table.add_column("last error", overflow="fold", min_width=6)
    for p in snapshot.procs:
        table.add_row(
            p.name,
            f"{p.calls:,}",
            f"{p.ok:,}",
            Text(f"{p.failed:,}", style="red" if p.failed and not plain else ""),
            f"{p.error_pct:.1f}",
            format_rate(p.rate),
            format_ms(p.p50_ms),
            format_ms(p.p95_ms),
            format_ms(p.p99_ms),
            format_ms(p.max_ms),
            *([f"{p.items_in:,}/{p.items_out:,}" if p.streams else ""] if streaming else []),
            *([p.last_error or ""] if errors else []),
        )
    if not snapshot.procs:
        table.add_row("(no calls yet)", *[""] * (len(table.columns) - 1))
    return table


def build_chart(snapshot: Snapshot) -> Text:
    """Calls/s over the last minute as one line of block characters."""
    values = snapshot.per_second
    top = max(values, default=0)
    text = Text()
    text.append(f"calls/s over the last {len(values)}s (max {top:,}/s)\n")
    text.append(f"-{len(values)}s ")
    text.append(sparkline(values), style="cyan")
    text.append(" now")
    return text


def build_dashboard(
    snapshot: Snapshot,
    log: str,
    *,
    waiting: bool = False,
    footer: str = "q quit",
    source: str = "log",
    note: str | None = None,
) -> RenderableType:
    """The live screen: header, per-procedure table, chart."""
    header = build_header(snapshot, log, waiting=waiting, source=source, note=note)
    return Group(
        Panel(header, box=box.ROUNDED),
        _ByWidth(build_procs_table(snapshot), _plain_table(snapshot), 110),
        Panel(build_chart(snapshot), box=box.ROUNDED),
        Text(f"updated {_clock(snapshot.now)}  {footer}", style="dim"),
    )


class _ByWidth:
    """Renders ``wide`` when there is room for it, else ``narrow`` (decided at render time)."""

    def __init__(self, wide: RenderableType, narrow: RenderableType, min_width: int) -> None:
        self.wide = wide
        self.narrow = narrow
        self.min_width = min_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide if options.max_width >= self.min_width else self.narrow


def _last_errors(snapshot: Snapshot) -> Text:
    text = Text("last errors:" if any(p.last_error for p in snapshot.procs) else "")
    for p in snapshot.procs:
        if p.last_error:
            text.append(f"\n  {p.name}: {p.last_error}")
    return text


def _plain_table(snapshot: Snapshot) -> RenderableType:
    """The borderless table; on narrow terminals the last errors go below it."""
    narrow = Group(build_procs_table(snapshot, plain=True, errors=False), _last_errors(snapshot))
    return _ByWidth(build_procs_table(snapshot, plain=True), narrow, 100)


def build_plain(snapshot: Snapshot, log: str, *, source: str = "log") -> RenderableType:
    """The ``--once`` snapshot: the same figures without panels or colours."""
    return Group(
        build_header(snapshot, log, source=source), _plain_table(snapshot), build_chart(snapshot)
    )
