"""What every contestant shares: the workloads, the record data, the timing loops."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ECHO_SIZE",
    "RECORDS_N",
    "WORKLOADS",
    "AsyncOps",
    "LoopConfig",
    "Record",
    "SyncOps",
    "check_records",
    "record_dicts",
    "record_tuples",
    "run_async_loop",
    "run_sync_loop",
]

ECHO_SIZE = 1024 * 1024  # W3 payload: 1 MiB
RECORDS_N = 100  # W4: records(n=100)

# Workload id -> what it measures; the driver and the client agree on these.
WORKLOADS: dict[str, str] = {
    "W1": "one client, sequential add(a, b): calls/s, p50, p99",
    "W2": "8 client processes at once, each its own connection, sequential add: total calls/s",
    "W3": "one client, sequential echo(1 MiB): MiB/s of payload",
    "W4": "one client, sequential records(n=100): calls/s",
    "W4s": "one client, sequential records_struct(n=100), the rows as msgspec.Struct: calls/s",
    "W6": "one client, sequential echo_array of an 8 MiB float32 NumPy array: MiB/s each way",
    "W5": "srpc W1 with the metrics log on / off: ratio of calls/s",
}


@dataclass
class Record:
    """The W4 row; peers whose wire format is untyped rebuild these on the client."""

    id: int
    score: float
    name: str
    active: bool
    tags: list[int]


def record_fields(i: int) -> tuple[int, float, str, bool, list[int]]:
    """The deterministic content of record ``i``, identical for every contestant."""
    return i, i * 0.5, f"record-{i}", i % 2 == 0, [i, i + 1, i + 2, i + 3]


def record_dicts(n: int) -> list[dict[str, Any]]:
    """The floor's W4 reply: plain dicts."""
    return [
        {
            "id": i,
            "score": i * 0.5,
            "name": f"record-{i}",
            "active": i % 2 == 0,
            "tags": [i, i + 1, i + 2, i + 3],
        }
        for i in range(n)
    ]


def record_tuples(n: int) -> tuple[tuple[int, float, str, bool, tuple[int, ...]], ...]:
    """RPyC's W4 reply: nested tuples (the only containers RPyC passes by value)."""
    return tuple(
        (i, i * 0.5, f"record-{i}", i % 2 == 0, (i, i + 1, i + 2, i + 3)) for i in range(n)
    )


def check_records(rows: Any, n: int) -> None:
    """Fail loudly if a contestant's ``records`` reply is not what every other one sends."""
    rows = list(rows)
    if len(rows) != n:
        raise AssertionError(f"records({n}) returned {len(rows)} rows")
    for i in (0, n - 1):
        row = rows[i]
        fields = ("id", "score", "name", "active", "tags")
        if isinstance(row, dict):
            values = [row[k] for k in fields]
        else:
            values = [getattr(row, k) for k in fields]
        got = (*values[:4], list(values[4]))
        if got != record_fields(i):
            raise AssertionError(f"records row {i} is {got!r}")


class SyncOps(Protocol):
    """A connected client of the bench service (a generated srpc stub satisfies it)."""

    def add(self, a: int, b: int) -> int: ...
    def echo(self, data: bytes) -> bytes: ...
    def records(self, n: int = ...) -> Any: ...
    def records_struct(self, n: int = ...) -> Any: ...
    def echo_array(self, a: Any) -> Any: ...
    def close(self) -> None: ...


class AsyncOps(Protocol):
    def add(self, a: int, b: int) -> Awaitable[int]: ...
    def echo(self, data: bytes) -> Awaitable[bytes]: ...
    def records(self, n: int = ...) -> Awaitable[Any]: ...
    def records_struct(self, n: int = ...) -> Awaitable[Any]: ...
    def echo_array(self, a: Any) -> Awaitable[Any]: ...
    def close(self) -> Awaitable[None]: ...


@dataclass(frozen=True)
class LoopConfig:
    """How long one client warms up and measures.

    ``barrier`` runs between warm-up and measuring; W2's processes use it to
    report ready and wait for the driver's common start time.
    """

    warmup_s: float
    warmup_max_calls: int
    duration_s: float
    max_calls: int
    barrier: Callable[[], None] | None = None
    # Interleaved runs: the seconds of the next measured slice, None when there are no more;
    # ``report`` gets each slice's calls/s and CPU. Without it, one slice of ``duration_s``.
    next_slice: Callable[[], float | None] | None = None
    report: Callable[[dict[str, float]], None] | None = None


def _slices(cfg: LoopConfig) -> Iterator[float]:
    if cfg.next_slice is None:
        yield cfg.duration_s
        return
    while (seconds := cfg.next_slice()) is not None:
        yield seconds


def _slice_done(cfg: LoopConfig, calls: int, elapsed_ns: int, cpu_s: float) -> float:
    rate = calls / (elapsed_ns / 1e9) if elapsed_ns > 0 else 0.0
    if cfg.report is not None:
        cfg.report({"calls": calls, "calls_per_s": rate, "cpu_s": cpu_s})
    return rate


WINDOWS = 10  # a run's rate is the median of this many equal-time windows


def window_rates(lat_ns: list[int], windows: int = WINDOWS) -> list[float]:
    """Calls/s in each of ``windows`` consecutive equal-time slices of a run (in call order).

    The median of these is robust to a burst of interference from other
    processes on the machine, which the plain total rate is not.
    """
    total = sum(lat_ns)
    if total <= 0 or len(lat_ns) < windows:
        return [len(lat_ns) / (total / 1e9)] if total > 0 else []
    width = total / windows
    rates: list[float] = []
    edge, start, count, t = width, 0, 0, 0
    for lat in lat_ns:
        t += lat
        count += 1
        if t >= edge:
            rates.append(count / ((t - start) / 1e9))
            start, count = t, 0
            edge += width
    if count:
        rates.append(count / ((t - start) / 1e9))
    return rates


def _summary(
    lat_ns: list[int], elapsed_ns: int, payload: int, cpu_s: float, slice_rates: list[float]
) -> dict[str, Any]:
    # One slice: the median of equal-time windows; interleaved slices: the median slice.
    rates = window_rates(lat_ns) if len(slice_rates) == 1 else slice_rates
    rate = statistics.median(rates)
    lat_ns.sort()
    n = len(lat_ns)

    def pct(q: float) -> float:
        return lat_ns[min(n - 1, int(q * n))] / 1000.0

    elapsed_s = elapsed_ns / 1e9
    return {
        "calls": n,
        "elapsed_s": elapsed_s,
        # the rate the tables use: median over equal-time windows of the run
        "calls_per_s": rate,
        "mib_per_s": rate * payload / (1024 * 1024),
        # the plain rate over the whole run
        "calls_per_s_total": n / elapsed_s,
        "window_rates": [round(r, 1) for r in rates],
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "max_us": lat_ns[-1] / 1000.0,
        "client_cpu_us_per_call": cpu_s * 1e6 / n,  # this client process, all threads
    }


def _barrier(cfg: LoopConfig) -> None:
    if cfg.barrier is not None:
        cfg.barrier()


def run_sync_loop(call: Callable[[], object], cfg: LoopConfig, payload: int = 0) -> dict[str, Any]:
    """Warm up, then call sequentially for ``duration_s`` (or ``max_calls``), timing each call."""
    clock = time.perf_counter_ns
    stop = clock() + int(cfg.warmup_s * 1e9)
    for _ in range(max(1, cfg.warmup_max_calls)):
        call()
        if clock() >= stop:
            break
    _barrier(cfg)
    lat: list[int] = []
    append_lat = lat.append
    max_calls = cfg.max_calls
    cpu = 0.0
    elapsed = 0
    rates: list[float] = []
    for seconds in _slices(cfg):
        first = len(lat)
        cpu0 = time.process_time()
        t0 = now = clock()
        deadline = t0 + int(seconds * 1e9)
        while True:
            call()
            t = clock()
            append_lat(t - now)
            now = t
            if t >= deadline or len(lat) >= max_calls:
                break
        cpu += time.process_time() - cpu0
        elapsed += now - t0
        rates.append(_slice_done(cfg, len(lat) - first, now - t0, time.process_time() - cpu0))
    return _summary(lat, elapsed, payload, cpu, rates)


async def run_async_loop(
    call: Callable[[], Awaitable[object]], cfg: LoopConfig, payload: int = 0
) -> dict[str, Any]:
    """The same loop as :func:`run_sync_loop`, awaiting each call."""
    clock = time.perf_counter_ns
    stop = clock() + int(cfg.warmup_s * 1e9)
    for _ in range(max(1, cfg.warmup_max_calls)):
        await call()
        if clock() >= stop:
            break
    _barrier(cfg)
    lat: list[int] = []
    append_lat = lat.append
    max_calls = cfg.max_calls
    cpu = 0.0
    elapsed = 0
    rates: list[float] = []
    for seconds in _slices(cfg):  # a blocking read between slices: no call is in flight
        first = len(lat)
        cpu0 = time.process_time()
        t0 = now = clock()
        deadline = t0 + int(seconds * 1e9)
        while True:
            await call()
            t = clock()
            append_lat(t - now)
            now = t
            if t >= deadline or len(lat) >= max_calls:
                break
        cpu += time.process_time() - cpu0
        elapsed += now - t0
        rates.append(_slice_done(cfg, len(lat) - first, now - t0, time.process_time() - cpu0))
    return _summary(lat, elapsed, payload, cpu, rates)
