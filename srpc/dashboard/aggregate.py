"""From metrics-log lines to a dashboard snapshot: pure, no I/O, bounded memory.

``MetricsAggregate`` consumes blocks of JSON lines (``feed``) and answers
``snapshot(now)``. However long the log, its memory is bounded by the number
of procedures (and of servers kept, at most ``MAX_SERVERS``): latencies go
into a log-bucketed histogram (DDSketch-style, relative error at most
``RELATIVE_ERROR`` on every percentile, exact max), and rates into fixed
rings of per-second counters.

A call line and a summary line (the writer's form at high rates: counts and
a histogram in the same buckets) add to the same counters and histogram
buckets, so the figures are the same whichever form the log holds. Each line
names its server (``instance``, ``pid``); every server's state comes from its
own ``start`` and ``stop`` events.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from srpc.metrics import GAMMA, MIN_LATENCY_MS, RELATIVE_ERROR

__all__ = [
    "CHART_SECONDS",
    "MAX_SERVERS",
    "RATE_WINDOW",
    "RELATIVE_ERROR",
    "SILENT_AFTER",
    "LatencySketch",
    "MetricsAggregate",
    "ProcSnapshot",
    "ServerSnapshot",
    "Snapshot",
]

RATE_WINDOW = 10
"""Whole seconds over which the recent calls/s are counted (plus the current partial second)."""

CHART_SECONDS = 60
"""Seconds of per-second call counts kept for the chart."""

SILENT_AFTER = 30.0
"""Seconds without a line after which a server that never logged ``stop`` is shown as silent
(killed, or its host is gone): writers log an ``alive`` event every 10 s when idle."""

MAX_SERVERS = 64
"""Servers whose state is kept; past it the one stopped longest ago is forgotten (its calls
still count in the totals)."""


class _Line(msgspec.Struct):
    """A log line: a finished call, a summary of calls when ``calls`` is set, or an event when
    ``event`` is set. Extra keys are ignored."""

    ts: float
    service: str | None = None
    proc: str | None = None
    ok: bool | None = None
    latency_ms: float | None = None
    error: str | None = None
    event: str | None = None
    pid: int | None = None
    instance: str | None = None
    address: str | None = None
    items_in: int | None = None
    items_out: int | None = None
    open: int | None = None  # a ``streams`` event: streaming calls open now
    # summary lines
    calls: int | None = None
    failed: int | None = None
    first_ts: float | None = None
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    hist: dict[int, int] | None = None
    hist_zero: int = 0
    errors: dict[str, int] | None = None
    last_error: str | None = None


_decode_one = msgspec.json.Decoder(_Line).decode
_decode_lines = msgspec.json.Decoder(_Line).decode_lines


class LatencySketch:
    """Streaming percentiles with bounded relative error (a DDSketch with unbounded buckets).

    A value ``x`` goes to bucket ``ceil(log_gamma(x))`` with
    ``gamma = (1 + a) / (1 - a)``; the bucket's representative
    ``2 gamma^i / (gamma + 1)`` is within ``a`` of every value in it, so the
    nearest-rank percentile is off by at most ``a`` relative. Buckets for 1 ns
    to 1 hour number about 1,400 at ``a = 1%``, so memory is bounded however
    many values go in. ``min`` and ``max`` are exact.
    """

    __slots__ = ("_buckets", "_inv_log_gamma", "_zero", "count", "gamma", "max", "min")

    def __init__(self, relative_error: float = RELATIVE_ERROR) -> None:
        self.gamma = (1 + relative_error) / (1 - relative_error)
        self._inv_log_gamma = 1.0 / math.log(self.gamma)
        self._buckets: dict[int, int] = {}
        self._zero = 0
        self.count = 0
        self.min = math.inf
        self.max = -math.inf

    def add(self, x: float) -> None:
        self.count += 1
        if x > self.max:
            self.max = x
        if x < self.min:
            self.min = x
        if x < MIN_LATENCY_MS:
            self._zero += 1
            return
        i = math.ceil(math.log(x) * self._inv_log_gamma)
        b = self._buckets
        b[i] = b.get(i, 0) + 1

    def merge(self, buckets: dict[int, int], zero: int, low: float, high: float) -> None:
        """Add a histogram in :func:`srpc.metrics.latency_bucket`'s buckets (a summary line's),
        with its exact min and max: the same as adding each of its values."""
        if self.gamma == GAMMA:
            b = self._buckets
            for i, n in buckets.items():
                b[i] = b.get(i, 0) + n
        else:  # a sketch of another precision: each bucket's representative stands for it
            for i, n in buckets.items():
                x = 2 * GAMMA**i / (GAMMA + 1)
                j = math.ceil(math.log(x) * self._inv_log_gamma)
                self._buckets[j] = self._buckets.get(j, 0) + n
        self._zero += zero
        self.count += zero + sum(buckets.values())
        if high > self.max:
            self.max = high
        if low < self.min:
            self.min = low

    def quantile(self, q: float) -> float | None:
        """The nearest-rank ``q`` quantile (the value at rank ``ceil(q * n)``), estimated."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        if rank >= self.count:
            return self.max
        seen = self._zero
        if seen >= rank:
            return max(self.min, 0.0)
        for i in sorted(self._buckets):
            seen += self._buckets[i]
            if seen >= rank:
                estimate = 2 * self.gamma**i / (self.gamma + 1)
                return min(max(estimate, self.min), self.max)
        return self.max  # pragma: no cover - counts always add up

    @property
    def bucket_count(self) -> int:
        return len(self._buckets)


class _SecondCounts:
    """Call counts for each of the last ``span`` whole seconds, in a fixed ring."""

    __slots__ = ("_counts", "_secs", "span")

    def __init__(self, span: int) -> None:
        self.span = span
        self._counts = [0] * span
        self._secs = [-1] * span

    def add(self, ts: float, n: int = 1) -> None:
        s = int(ts)
        i = s % self.span
        held = self._secs[i]
        if held == s:
            self._counts[i] += n
        elif s > held:
            self._secs[i] = s
            self._counts[i] = n
        # else: older than anything the ring still covers; too old to count

    def series(self, now: float, seconds: int) -> list[int]:
        """Counts for the ``seconds`` whole seconds ending with ``now``'s, oldest first."""
        end = int(now)
        out = []
        for s in range(end - seconds + 1, end + 1):
            i = s % self.span
            out.append(self._counts[i] if self._secs[i] == s else 0)
        return out


class _ProcStats:
    __slots__ = (
        "calls", "failed", "items_in", "items_out", "last_error", "last_error_ts", "latency",
        "recent", "streams",
    )  # fmt: skip

    def __init__(self) -> None:
        self.streams = 0
        self.items_in = 0
        self.items_out = 0
        self.calls = 0
        self.failed = 0
        self.last_error: str | None = None
        self.last_error_ts = 0.0
        self.latency = LatencySketch()
        self.recent = _SecondCounts(RATE_WINDOW + 1)


class _ServerState:
    """One server as its lines tell it: its last ``start``, a ``stop`` after it, its calls."""

    __slots__ = ("address", "calls", "failed", "first_ts", "instance", "last_ts", "pid",
                 "started_at", "stopped_at", "streams_open")  # fmt: skip

    def __init__(self, instance: str | None) -> None:
        self.instance = instance
        self.pid: int | None = None
        self.address: str | None = None
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.calls = 0
        self.failed = 0
        self.streams_open = 0

    def saw(self, ts: float) -> None:
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts

    def snapshot(self, now: float) -> ServerSnapshot:
        began = self.started_at if self.started_at is not None else self.first_ts
        stopped = self.stopped_at
        last = self.last_ts if self.last_ts is not None else now
        # only writers that name themselves also write the alive events silence is judged by
        silent = stopped is None and self.instance is not None and now - last > SILENT_AFTER
        if stopped is not None:
            ended, state = stopped, "stopped"
        elif silent:
            ended, state = last, "silent"
        else:
            ended, state = max(now, last), "running"
        return ServerSnapshot(
            instance=self.instance,
            pid=self.pid,
            address=self.address,
            state=state,
            running=state == "running",
            started_at=self.started_at,
            stopped_at=self.stopped_at,
            uptime_s=max(0.0, ended - began) if began is not None else 0.0,
            calls=self.calls,
            failed=self.failed,
            last_seen=self.last_ts,
            streams_open=self.streams_open if state == "running" else 0,
        )


@dataclass(frozen=True)
class ServerSnapshot:
    """One server writing to the log (``instance`` is ``None`` for lines that name none)."""

    instance: str | None
    pid: int | None
    address: str | None
    state: str
    """``running``; ``stopped`` (a ``stop`` event after its last ``start``); ``silent``: no
    ``stop``, but no line for ``SILENT_AFTER`` seconds (killed?); its uptime ends there."""
    running: bool
    started_at: float | None
    stopped_at: float | None
    uptime_s: float
    calls: int
    failed: int
    last_seen: float | None
    """The ``ts`` of its latest line."""
    streams_open: int = 0
    """Streaming calls open now (its latest ``streams`` event; 0 once it stopped)."""
    fingerprint: str | None = None
    """The interface fingerprint it serves, where the source says (the NATS source does)."""


@dataclass(frozen=True)
class ProcSnapshot:
    """One procedure's figures; latencies in milliseconds (``None`` before any call)."""

    name: str
    calls: int
    ok: int
    failed: int
    error_pct: float
    rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    last_error: str | None
    streams: int = 0
    """Of ``calls``, the streaming ones; ``items_in``/``items_out``: their items each way."""
    items_in: int = 0
    items_out: int = 0
    procedure: str | None = None
    """The procedure's own name when ``name`` is a row label (``add @ <instance>``)."""
    instance: str | None = None
    """For a row of one instance (the NATS source): its id; ``None`` for a row over all."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard shows, at time ``now`` (epoch seconds)."""

    now: float
    service: str | None
    started_at: float | None
    """The earliest start of the servers running now (if none is: the last to stop)."""
    stopped_at: float | None
    """``None`` while any server runs, else the last stop (``None`` too if the last server
    fell silent without one)."""
    uptime_s: float
    calls: int
    ok: int
    failed: int
    error_pct: float
    rate: float
    """Calls/s over the last ``rate_window_s`` seconds."""
    overall_rate: float
    """Calls/s from the first line of the log to the stop event (or ``now``)."""
    rate_window_s: int
    per_second: list[int]
    """Calls in each of the last ``CHART_SECONDS`` seconds, oldest first."""
    malformed: int
    procs: list[ProcSnapshot] = field(default_factory=list)
    servers: list[ServerSnapshot] = field(default_factory=list)
    """Every server seen (at most ``MAX_SERVERS``): running ones first, then the most
    recently stopped."""
    relative_error: float = RELATIVE_ERROR
    streams_open: int = 0
    """Streaming calls open now, over the servers running."""
    stream_calls: int = 0
    """Of ``calls``, the streaming ones."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ended(server: ServerSnapshot) -> float:
    if server.stopped_at is not None:
        return server.stopped_at
    return server.last_seen or 0.0


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


class MetricsAggregate:
    """Accumulates metrics-log lines; ``snapshot()`` summarises them."""

    def __init__(self) -> None:
        self.malformed = 0
        self.service: str | None = None
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self._procs: dict[str, _ProcStats] = {}
        self._servers: dict[str | None, _ServerState] = {}
        self._per_second = _SecondCounts(CHART_SECONDS + 1)

    # -- input ----------------------------------------------------------------

    def feed(self, block: bytes) -> None:
        """Take a block of whole lines (``\\n``-separated; blank lines are ignored)."""
        if not block:
            return
        try:
            lines = _decode_lines(block)
        except (msgspec.DecodeError, msgspec.ValidationError):
            lines = self._decode_slowly(block)
        add = self._add
        for line in lines:
            add(line)

    def _decode_slowly(self, block: bytes) -> list[_Line]:
        good = []
        for raw in block.split(b"\n"):
            if not raw.strip():
                continue
            try:
                good.append(_decode_one(raw))
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.malformed += 1
        return good

    def _server(self, line: _Line) -> _ServerState:
        key = line.instance
        server = self._servers.get(key)
        if server is None:
            if len(self._servers) >= MAX_SERVERS:
                self._forget_a_server()
            server = self._servers[key] = _ServerState(key)
        if line.pid is not None:
            server.pid = line.pid
        return server

    def _forget_a_server(self) -> None:
        stopped = [s for s in self._servers.values() if s.stopped_at is not None]
        victims = stopped or list(self._servers.values())
        oldest = min(victims, key=lambda s: s.last_ts or 0.0)
        del self._servers[oldest.instance]

    def _add(self, line: _Line) -> None:
        ts = line.ts
        if not math.isfinite(ts):
            self.malformed += 1
            return
        if line.event is not None:
            if line.service is not None:
                self.service = line.service
            if self.first_ts is None or ts < self.first_ts:
                self.first_ts = ts
            server = self._server(line)
            server.saw(ts)
            if line.event == "start":
                server.started_at = ts
                server.stopped_at = None
                if line.address is not None:
                    server.address = line.address
            elif line.event == "stop":
                server.stopped_at = ts
                server.streams_open = 0
            elif line.event == "streams" and line.open is not None:
                server.streams_open = line.open
            return
        if line.calls is not None:
            self._add_summary(line)
            return
        proc = line.proc
        ok = line.ok
        latency = line.latency_ms
        if proc is None or ok is None or latency is None:
            self.malformed += 1
            return
        stats, server = self._calls_of(line, proc, ts, ts)
        server.calls += 1
        stats.calls += 1
        if not ok:
            stats.failed += 1
            server.failed += 1
            if ts >= stats.last_error_ts:
                stats.last_error = line.error or "error"
                stats.last_error_ts = ts
        stats.latency.add(latency)
        stats.recent.add(ts)
        self._per_second.add(ts)
        if line.items_in is not None or line.items_out is not None:
            stats.streams += 1
            stats.items_in += line.items_in or 0
            stats.items_out += line.items_out or 0

    def _calls_of(
        self, line: _Line, proc: str, first: float, last: float
    ) -> tuple[_ProcStats, _ServerState]:
        """Calls of ``proc`` that finished from ``first`` to ``last`` (one call line, or a
        summary): the log's span and service noted; their procedure's and server's state."""
        if self.first_ts is None or first < self.first_ts:
            self.first_ts = first
        if self.service is None:
            self.service = line.service
        if self.last_ts is None or last > self.last_ts:
            self.last_ts = last
        stats = self._procs.get(proc)
        if stats is None:
            stats = self._procs[proc] = _ProcStats()
        server = self._server(line)
        server.saw(first)
        if last != first:
            server.saw(last)
        return stats, server

    def _add_summary(self, line: _Line) -> None:
        """A summary line: ``calls`` calls of ``proc`` that finished in the second ``int(ts)``."""
        proc, n, hist = line.proc, line.calls, line.hist
        failed = line.failed or 0
        low, high = line.latency_min_ms, line.latency_max_ms
        first = line.first_ts if line.first_ts is not None else line.ts
        if (
            proc is None
            or n is None
            or hist is None
            or low is None
            or high is None
            or n <= 0
            or not 0 <= failed <= n
            or line.hist_zero < 0
            or any(c <= 0 for c in hist.values())
            or sum(hist.values()) + line.hist_zero != n
            or not (math.isfinite(low) and math.isfinite(high) and low <= high)
            or not math.isfinite(first)
        ):
            self.malformed += 1
            return
        ts = line.ts
        stats, server = self._calls_of(line, proc, first, ts)
        server.calls += n
        server.failed += failed
        stats.calls += n
        if failed:
            stats.failed += failed
            if ts >= stats.last_error_ts:
                stats.last_error = line.last_error or "error"
                stats.last_error_ts = ts
        stats.latency.merge(hist, line.hist_zero, low, high)
        stats.recent.add(ts, n)
        self._per_second.add(ts, n)

    # -- output ---------------------------------------------------------------

    def snapshot(self, now: float) -> Snapshot:
        """The figures as of ``now``; rate windows end at ``now``'s whole second."""
        procs = []
        total = failed = 0
        recent_total = 0
        # the last RATE_WINDOW whole seconds and the current one so far: no dip as a second starts
        window = RATE_WINDOW + (now - int(now))
        for name in sorted(self._procs):
            s = self._procs[name]
            recent = sum(s.recent.series(now, RATE_WINDOW + 1))
            recent_total += recent
            total += s.calls
            failed += s.failed
            lat = s.latency
            procs.append(
                ProcSnapshot(
                    name=name,
                    calls=s.calls,
                    ok=s.calls - s.failed,
                    failed=s.failed,
                    error_pct=_pct(s.failed, s.calls),
                    rate=recent / window,
                    p50_ms=lat.quantile(0.50),
                    p95_ms=lat.quantile(0.95),
                    p99_ms=lat.quantile(0.99),
                    max_ms=lat.max if lat.count else None,
                    last_error=s.last_error,
                    streams=s.streams,
                    items_in=s.items_in,
                    items_out=s.items_out,
                )
            )
        servers = [s.snapshot(now) for s in self._servers.values()]
        # running first (longest up first), then the most recently stopped
        servers.sort(key=lambda s: (not s.running, -_ended(s), s.started_at or 0.0))
        running = [s for s in servers if s.running]
        if running:
            # the service has been up since the earliest start among the servers running now
            up = max(running, key=lambda s: s.uptime_s)
            started_at, stopped_at, uptime = up.started_at, None, up.uptime_s
        elif servers:
            last = servers[0]  # the one that stopped (or fell silent) last
            started_at, stopped_at, uptime = last.started_at, last.stopped_at, last.uptime_s
        else:
            started_at, stopped_at, uptime = None, None, 0.0
        # the overall rate spans the whole log, which may hold several runs
        ended = stopped_at if stopped_at is not None else max(now, self.last_ts or now)
        span = max(0.0, ended - self.first_ts) if self.first_ts is not None else 0.0
        return Snapshot(
            now=now,
            service=self.service,
            started_at=started_at,
            stopped_at=stopped_at,
            uptime_s=uptime,
            calls=total,
            ok=total - failed,
            failed=failed,
            error_pct=_pct(failed, total),
            rate=recent_total / window,
            overall_rate=total / span if span > 0 else 0.0,
            rate_window_s=RATE_WINDOW,
            per_second=self._per_second.series(now, CHART_SECONDS),
            malformed=self.malformed,
            procs=procs,
            servers=servers,
            streams_open=sum(s.streams_open for s in servers),
            stream_calls=sum(p.streams for p in procs),
        )
