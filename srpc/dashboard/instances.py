"""From the ``$SRV.STATS`` replies of a service's instances to a dashboard snapshot: pure, no I/O.

The second source of ``srpc-metrics`` (the first is the metrics log,
:mod:`srpc.dashboard.aggregate`): ``srpc-metrics nats://host:port/calc``
polls every instance's STATS several times a second and feeds each round to
:meth:`InstancesAggregate.feed`. The snapshot is the same
:class:`~srpc.dashboard.aggregate.Snapshot` the view draws for a log, with
one row per procedure over all instances (``add``) followed by one row per
procedure and instance (``add @ <instance id>``), and one server per
instance.

STATS counters are cumulative, so calls/s come from the growth between
polls (counts an instance had before the dashboard first saw it are in the
totals, not in the rates, unless it started after the dashboard did).
Percentiles come from the latency histogram each instance keeps for its
whole life (``srpc.nats.service``), merged across instances for the
procedure rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from srpc.dashboard.aggregate import (
    CHART_SECONDS,
    MAX_SERVERS,
    RATE_WINDOW,
    LatencySketch,
    ProcSnapshot,
    ServerSnapshot,
    Snapshot,
    _SecondCounts,
)
from srpc.nats.service import EndpointStats, InstanceStats

__all__ = ["SILENT_AFTER_POLLS", "InstancesAggregate"]

SILENT_AFTER_POLLS = 2.0
"""Seconds an instance may miss the polls before it is shown as silent (gone, or hung)."""


@dataclass
class _Endpoint:
    stats: EndpointStats
    recent: _SecondCounts
    error_seen_at: float = 0.0


class _Instance:
    __slots__ = ("endpoints", "fingerprint", "first_seen", "host", "instance_id", "last_seen",
                 "pid", "started")  # fmt: skip

    def __init__(self, stats: InstanceStats, now: float) -> None:
        self.instance_id = stats.instance_id
        self.fingerprint = stats.fingerprint
        self.host = stats.host
        self.pid = stats.pid
        self.started = stats.started.timestamp() if stats.started is not None else None
        self.first_seen = now
        self.last_seen = now
        self.endpoints: dict[str, _Endpoint] = {}

    @property
    def calls(self) -> int:
        return sum(e.stats.num_requests for e in self.endpoints.values())

    @property
    def failed(self) -> int:
        return sum(e.stats.num_errors for e in self.endpoints.values())


def _sketch(endpoints: Iterable[EndpointStats]) -> LatencySketch:
    sketch = LatencySketch()
    for e in endpoints:
        if e.has_histogram and e.latency_min_ms is not None and e.latency_max_ms is not None:
            sketch.merge(e.latency_hist, e.latency_zero, e.latency_min_ms, e.latency_max_ms)
    return sketch


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


class InstancesAggregate:
    """The instances of one service as their STATS tell it, poll after poll."""

    def __init__(self, service: str | None, *, silent_after: float = SILENT_AFTER_POLLS) -> None:
        self.service = service
        self.silent_after = silent_after
        self.first_poll: float | None = None
        self.last_poll: float | None = None
        self.polls = 0
        self._instances: dict[str, _Instance] = {}
        self._per_second = _SecondCounts(CHART_SECONDS + 1)

    def feed(self, replies: Iterable[InstanceStats], now: float) -> None:
        """One poll's replies, received at ``now`` (epoch seconds)."""
        if self.first_poll is None:
            self.first_poll = now
        first_poll = self.first_poll
        self.last_poll = now
        self.polls += 1
        for stats in replies:
            if self.service is not None and stats.service != self.service:
                continue
            instance = self._instances.get(stats.instance_id)
            new = instance is None
            if instance is None:
                if len(self._instances) >= MAX_SERVERS:
                    self._forget_one()
                instance = self._instances[stats.instance_id] = _Instance(stats, now)
            instance.last_seen = now
            # an instance that started while we watched made all its calls in sight
            born_in_sight = instance.started is not None and instance.started >= first_poll
            for e in stats.endpoints:
                held = instance.endpoints.get(e.procedure)
                if held is None:
                    held = instance.endpoints[e.procedure] = _Endpoint(
                        e, _SecondCounts(RATE_WINDOW + 1)
                    )
                    grown = e.num_requests if (born_in_sight or not new) else 0
                    if e.num_errors and grown:
                        held.error_seen_at = now
                else:
                    grown = e.num_requests - held.stats.num_requests
                    if grown < 0:  # its counters were reset
                        grown = e.num_requests
                    if e.num_errors != held.stats.num_errors:
                        held.error_seen_at = now
                    held.stats = e
                if grown > 0:
                    held.recent.add(now, grown)
                    self._per_second.add(now, grown)

    def _forget_one(self) -> None:
        oldest = min(self._instances.values(), key=lambda i: i.last_seen)
        del self._instances[oldest.instance_id]

    # -- output ---------------------------------------------------------------

    def _window(self, now: float) -> float:
        """Seconds the rates are over: the rate window, or less while we have watched less."""
        window = RATE_WINDOW + (now - int(now))
        if self.first_poll is None:
            return window
        return max(min(window, now - self.first_poll), 1e-3)

    def _server(self, instance: _Instance, now: float) -> ServerSnapshot:
        silent = now - instance.last_seen > self.silent_after
        began = instance.started if instance.started is not None else instance.first_seen
        ended = instance.last_seen if silent else now
        return ServerSnapshot(
            instance=instance.instance_id,
            pid=instance.pid,
            address=instance.host or None,
            state="silent" if silent else "running",
            running=not silent,
            started_at=instance.started,
            stopped_at=None,
            uptime_s=max(0.0, ended - began),
            calls=instance.calls,
            failed=instance.failed,
            last_seen=instance.last_seen,
            fingerprint=instance.fingerprint,
        )

    def snapshot(self, now: float) -> Snapshot:
        """The figures as of ``now``."""
        window = self._window(now)
        seconds = RATE_WINDOW + 1
        instances = sorted(
            self._instances.values(), key=lambda i: (i.started or 0.0, i.instance_id)
        )
        names = sorted({p for i in instances for p in i.endpoints})
        procs: list[ProcSnapshot] = []
        total = failed = recent_total = 0
        for name in names:
            serving = [(i, i.endpoints[name]) for i in instances if name in i.endpoints]
            rows: list[ProcSnapshot] = []
            for instance, held in serving:
                e = held.stats
                recent = sum(held.recent.series(now, seconds))
                label = f"{name} @ {instance.instance_id}"
                row = self._row(
                    label, name, instance.instance_id, [e], recent / window, e.last_error or None
                )
                rows.append(row)
            calls = sum(h.stats.num_requests for _, h in serving)
            errors = sum(h.stats.num_errors for _, h in serving)
            recent = sum(sum(h.recent.series(now, seconds)) for _, h in serving)
            with_errors = [h for _, h in serving if h.stats.last_error]
            last_error = (
                max(with_errors, key=lambda h: h.error_seen_at).stats.last_error
                if with_errors
                else None
            )
            endpoints = [h.stats for _, h in serving]
            procs.append(self._row(name, name, None, endpoints, recent / window, last_error))
            procs.extend(rows)
            total += calls
            failed += errors
            recent_total += recent
        servers = [self._server(i, now) for i in instances]
        servers.sort(key=lambda s: (not s.running, s.started_at or 0.0, s.instance or ""))
        running = [s for s in servers if s.running]
        up = max(running or servers, key=lambda s: s.uptime_s, default=None)
        started_at = up.started_at if up is not None else None
        uptime = up.uptime_s if up is not None else 0.0
        return Snapshot(
            now=now,
            service=self.service,
            started_at=started_at,
            stopped_at=None,
            uptime_s=uptime,
            calls=total,
            ok=total - failed,
            failed=failed,
            error_pct=_pct(failed, total),
            rate=recent_total / window,
            overall_rate=total / uptime if uptime > 0 else 0.0,
            rate_window_s=RATE_WINDOW,
            per_second=self._per_second.series(now, CHART_SECONDS),
            malformed=0,
            procs=procs,
            servers=servers,
        )

    @staticmethod
    def _row(
        label: str,
        procedure: str,
        instance: str | None,
        endpoints: list[EndpointStats],
        rate: float,
        last_error: str | None,
    ) -> ProcSnapshot:
        calls = sum(e.num_requests for e in endpoints)
        errors = sum(e.num_errors for e in endpoints)
        sketch = _sketch(endpoints)
        # percentiles only when every call is in the histograms (each srpc instance keeps one)
        exact = sketch.count == calls and calls > 0
        return ProcSnapshot(
            name=label,
            calls=calls,
            ok=calls - errors,
            failed=errors,
            error_pct=_pct(errors, calls),
            rate=rate,
            p50_ms=sketch.quantile(0.5) if exact else None,
            p95_ms=sketch.quantile(0.95) if exact else None,
            p99_ms=sketch.quantile(0.99) if exact else None,
            max_ms=sketch.max if exact else None,
            last_error=last_error,
            procedure=procedure,
            instance=instance,
        )
