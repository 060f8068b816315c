"""Runs one attack row against a fresh server process and measures what issue 11 asks.

Per row: a new server (``serve.py``, default limits, metrics log on as by
default, 127.0.0.1, port 0), the
health probe in its own process (``probe.py``) probing from before the attack
until a second after it, the attack from 127.0.0.2 and up, then SIGTERM.
A row passes when:

- no probe failed (each must finish within 1 s);
- the server's peak RSS (``VmHWM``) stayed under 1 GiB;
- the server is still alive at the end;
- SIGTERM ended it within ``grace_period`` + 1 s (the default 5 s in the full
  form; 1 s in the quick form, to keep ``make test`` short);
- and the attack itself saw no problem (every call answered, logs bounded).

A safety cap (``ATTACK_RSS_CAP``, default 3 GiB) kills a server that grows
past it, so an undefended row cannot take the machine: such a row reports
its peak as "> cap".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .attacks import Target

REPO = Path(__file__).resolve().parents[3]
GIB = 1024**3
RSS_LIMIT = 1 * GIB
RSS_CAP = int(os.environ.get("ATTACK_RSS_CAP", 3 * GIB))
GRACE_PERIOD = 5.0  # Server's default grace_period, used by the full form
QUICK_GRACE_PERIOD = 1.0  # the quick form's: the SIGTERM bound still holds, in less time
PROBE_DEADLINE = 1.0
RECOVERY = 1.0  # probing goes on this long after the attack ends


@dataclass(frozen=True)
class Row:
    """One row of issue 11's table."""

    name: str
    title: str
    attack: Callable[[Target], list[str]]
    needs: str = ""  # the defence today's server lacks for this row ("" when it has it)
    note: str = ""  # what else is worth knowing about the row
    token: bool = False
    tls: bool = False


@dataclass
class RowResult:
    name: str
    grace_period: float = GRACE_PERIOD
    probes: int = 0
    failures: int = 0
    outage: float = 0.0
    worst: float = 0.0
    peak_rss: int = 0
    capped: bool = False
    alive: bool = False
    sigterm: float | None = None  # seconds from SIGTERM to exit; None: it did not exit
    problems: list[str] = field(default_factory=list)

    def failed(self) -> list[str]:
        """What broke the contract in this row (empty: the row passes)."""
        out = []
        if self.probes == 0:
            out.append("no probe ran")
        if self.failures:
            out.append(f"{self.failures} probe(s) failed, outage {self.outage:.1f} s")
        if self.worst > PROBE_DEADLINE:
            out.append(f"worst probe {self.worst:.2f} s")
        if self.capped or self.peak_rss >= RSS_LIMIT:
            out.append(f"peak RSS {_mib(self.peak_rss, self.capped)}")
        if not self.alive:
            out.append("server dead at the end")
        if self.sigterm is None or self.sigterm > self.grace_period + 1.0:
            out.append("SIGTERM did not end it within grace_period + 1 s")
        return out + self.problems


def _mib(size: int, capped: bool = False) -> str:
    return f"> {RSS_CAP / GIB:.0f} GiB (killed)" if capped else f"{size / 2**20:.0f} MiB"


def _status(pid: int, field_name: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    return 0


class _ServerProcess:
    def __init__(self, directory: Path, row: Row, pki: object | None, grace: float) -> None:
        self.grace = grace
        args = [sys.executable, "-m", "tests.hardening.attack.serve", "--grace-period", str(grace)]
        self.token = "attack-suite-token" if row.token else None
        if self.token:
            args += ["--token", self.token]
        self.ca: str | None = None
        if row.tls:
            assert pki is not None, "a TLS row needs the test PKI"
            args += ["--tls-cert", str(pki.server_cert), "--tls-key",  # type: ignore[attr-defined]
                     str(pki.server_key)]  # type: ignore[attr-defined]
            self.ca = str(pki.ca_cert)  # type: ignore[attr-defined]
        self.metrics_log = str(directory / "metrics.log")  # on, as in a user's server
        args += ["--metrics-log", self.metrics_log]
        self.stderr_log = str(directory / "server.stderr")
        self._stderr = open(self.stderr_log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r" on [\d.]+:(\d+);", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.port = int(match.group(1))
        self.peak = 0
        self.capped = False
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        pid = self.proc.pid
        while self._watching and self.proc.poll() is None:
            rss = _status(pid, "VmRSS")
            self.peak = max(self.peak, rss, _status(pid, "VmHWM"))
            if rss > RSS_CAP:
                self.capped = True
                self.proc.kill()
                return
            time.sleep(0.05)

    def sigterm(self) -> float | None:
        self._watching = False
        self._watcher.join(2)
        self.peak = max(self.peak, _status(self.proc.pid, "VmHWM"))
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(self.grace + 2.0)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


class _Probe:
    def __init__(self, port: int, token: str | None, ca: str | None) -> None:
        args = [sys.executable, "-m", "tests.hardening.attack.probe", "--port", str(port)]
        if token:
            args += ["--token", token]
        if ca:
            args += ["--ca", ca]
        self.proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.results: list[dict[str, object]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.results.append(json.loads(line))

    def wait_healthy(self, timeout: float = 15.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(r["ok"] for r in self.results):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)


def run_row(row: Row, *, full: bool, pki: object | None = None) -> RowResult:
    """Attack a fresh server with ``row`` and measure it (see the module docstring)."""
    grace = GRACE_PERIOD if full else QUICK_GRACE_PERIOD
    result = RowResult(row.name, grace_period=grace)
    with tempfile.TemporaryDirectory(prefix="srpc-attack-") as tmp:
        server = _ServerProcess(Path(tmp), row, pki, grace)
        try:
            probe = _Probe(server.port, server.token, server.ca)
            try:
                if not probe.wait_healthy():
                    result.problems.append("the probe never succeeded before the attack")
                first = len(probe.results)
                context = None
                if server.ca:
                    from srpc.security import client_ssl_context

                    context = client_ssl_context(server.ca)
                target = Target(port=server.port, full=full, token=server.token, tls=context,
                                metrics_log=server.metrics_log, stderr_log=server.stderr_log)
                try:
                    result.problems += row.attack(target)
                except Exception as exc:
                    result.problems.append(f"the attack stopped: {type(exc).__name__}: {exc}"[:200])
                time.sleep(RECOVERY)
            finally:
                probe.stop()
            _probe_figures(result, probe.results[max(0, first - 1):])
            result.alive = server.proc.poll() is None
            result.sigterm = server.sigterm() if result.alive else None
            result.peak_rss, result.capped = server.peak, server.capped
        finally:
            server.close()
    return result


def _probe_figures(result: RowResult, probes: list[dict[str, object]]) -> None:
    result.probes = len(probes)
    outage_start: float | None = None
    for probe in probes:
        started, latency = float(probe["t"]), float(probe["latency"])  # type: ignore[arg-type]
        result.worst = max(result.worst, latency)
        if not probe["ok"]:
            result.failures += 1
            if outage_start is None:
                outage_start = started
            result.outage = max(result.outage, started + latency - outage_start)
        else:
            if outage_start is not None:
                result.outage = max(result.outage, started - outage_start)
            outage_start = None


def format_table(rows: list[Row], results: list[RowResult]) -> str:
    """The figures as a Markdown table (one line per row), then each failing row's reasons."""
    head = ("| attack | probes failed | outage s | worst probe s | peak RSS | alive "
            "| SIGTERM->exit s | verdict |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    notes = []
    for row, r in zip(rows, results, strict=False):
        failed = r.failed()
        sigterm = f"> {r.grace_period + 2:.0f}" if r.sigterm is None else f"{r.sigterm:.1f}"
        if not r.alive and r.sigterm is None:
            sigterm = "(dead)"
        lines.append(
            f"| {row.name} | {r.failures}/{r.probes} | {r.outage:.1f} | {r.worst:.3f} "
            f"| {_mib(r.peak_rss, r.capped)} | {'yes' if r.alive else 'NO'} | {sigterm} "
            f"| {'pass' if not failed else 'FAIL'} |"
        )
        if failed:
            notes.append(f"- {row.name}: " + "; ".join(failed))
    return "\n".join(lines + (["", *notes] if notes else []))
