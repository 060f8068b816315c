"""MetricsAggregate and LatencySketch: percentiles vs a sorted reference, windows, bad lines."""

from __future__ import annotations

import json
import math
import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srpc.dashboard.aggregate import (
    CHART_SECONDS,
    RATE_WINDOW,
    RELATIVE_ERROR,
    LatencySketch,
    MetricsAggregate,
)

from .helpers import call_line, event_line

T0 = 1_763_900_000.0


def nearest_rank(sorted_values: list[float], q: float) -> float:
    """The reference: the value at rank ceil(q * n) of the sorted list."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def block(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def assert_within_error(estimate: float | None, exact: float) -> None:
    assert estimate is not None
    assert abs(estimate - exact) <= RELATIVE_ERROR * abs(exact) + 1e-12, (estimate, exact)


@pytest.mark.parametrize(
    "draw",
    [
        lambda r: r.lognormvariate(-3, 1.0),  # typical sub-millisecond RPC latencies
        lambda r: r.expovariate(1 / 5.0),
        lambda r: r.uniform(0.001, 10_000),
        lambda r: r.choice([0.05, 0.06, 250.0]),  # a few discrete modes
        lambda r: 10 ** r.uniform(-4, 5),  # nine decades
    ],
)
def test_percentiles_match_a_sorted_reference(draw: object) -> None:
    rng = random.Random(1234)
    values = [draw(rng) for _ in range(20_000)]  # type: ignore[operator]
    sketch = LatencySketch()
    for v in values:
        sketch.add(v)
    ref = sorted(values)
    for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
        assert_within_error(sketch.quantile(q), nearest_rank(ref, q))
    assert sketch.max == ref[-1]  # exact
    assert sketch.min == ref[0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=300,
    ),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_percentile_error_bound_holds_for_any_input(values: list[float], q: float) -> None:
    sketch = LatencySketch()
    for v in values:
        sketch.add(v)
    exact = nearest_rank(sorted(values), q)
    estimate = sketch.quantile(q)
    assert estimate is not None
    # values under 1 ns share one bucket and come back as the exact minimum (or 0)
    assert abs(estimate - exact) <= RELATIVE_ERROR * exact + 1e-6


def test_empty_sketch_has_no_percentiles() -> None:
    assert LatencySketch().quantile(0.5) is None


def test_memory_is_bounded_however_many_values() -> None:
    sketch = LatencySketch()
    rng = random.Random(7)
    for _ in range(200_000):
        sketch.add(10 ** rng.uniform(-6, 6.6))  # 1 ns to about an hour, in ms
    # ceil(log(3.6e15) / log(1.0202)) buckets at most, whatever the count
    assert sketch.bucket_count <= 1800
    assert sketch.count == 200_000


def test_aggregate_memory_does_not_grow_with_the_log() -> None:
    rng = random.Random(3)

    def chunk(start: int) -> bytes:
        return block(
            *(
                call_line(
                    rng.choice(["add", "sub"]),
                    ts=T0 + (start + i) * 0.01,
                    latency_ms=10 ** rng.uniform(-2, 2),
                )
                for i in range(4_000)
            )
        )

    chunks = [chunk(n * 4_000) for n in range(10)]
    agg = MetricsAggregate()
    tracemalloc.start()
    try:
        agg.feed(chunks[0])
        after_first, _ = tracemalloc.get_traced_memory()
        for c in chunks[1:]:
            agg.feed(c)
        after_all, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert agg.snapshot(T0 + 3000).calls == 40_000
    # 10x the lines, a few KB more at most (the last buckets of the histogram filling in)
    assert after_all - after_first < 64 * 1024


def test_counts_errors_and_last_error() -> None:
    agg = MetricsAggregate()
    agg.feed(
        block(
            event_line("start", ts=T0),
            call_line("add", ts=T0 + 1),
            call_line("div", ts=T0 + 2, ok=False, error="ZeroDivisionError"),
            call_line("div", ts=T0 + 3),
            call_line("div", ts=T0 + 4, ok=False, error="ValueError"),
        )
    )
    snap = agg.snapshot(T0 + 5)
    assert (snap.calls, snap.ok, snap.failed) == (4, 2, 2)
    assert snap.error_pct == 50.0
    assert snap.service == "calc"
    assert snap.uptime_s == 5.0
    procs = {p.name: p for p in snap.procs}
    assert [p.name for p in snap.procs] == ["add", "div"]
    assert (procs["div"].calls, procs["div"].ok, procs["div"].failed) == (3, 1, 2)
    assert procs["div"].error_pct == pytest.approx(200 / 3)
    assert procs["div"].last_error == "ValueError"
    assert procs["add"].last_error is None


def test_stop_event_freezes_uptime_and_restart_resets_it() -> None:
    agg = MetricsAggregate()
    agg.feed(block(event_line("start", ts=T0), event_line("stop", ts=T0 + 30)))
    snap = agg.snapshot(T0 + 100)
    assert snap.uptime_s == 30.0 and snap.stopped_at == T0 + 30
    agg.feed(block(event_line("start", ts=T0 + 200)))
    snap = agg.snapshot(T0 + 210)
    assert snap.uptime_s == 10.0 and snap.stopped_at is None


def test_recent_rate_counts_only_the_window() -> None:
    agg = MetricsAggregate()
    old = [call_line("add", ts=T0 + i * 0.1) for i in range(100)]  # 10 calls/s for 10 s
    recent = [call_line("add", ts=T0 + 100 + i * 0.05) for i in range(100)]  # 20/s for 5 s
    agg.feed(block(*old, *recent))
    snap = agg.snapshot(T0 + 104.99)  # the window is [T0 + 94, T0 + 104.99]
    assert snap.rate == pytest.approx(100 / (RATE_WINDOW + 0.99))
    assert snap.procs[0].rate == pytest.approx(100 / (RATE_WINDOW + 0.99))
    steady = MetricsAggregate()  # 100 calls/s, read as they come
    fed = 0
    for now in (25.0, 25.01, 25.5, 25.99, 26.0, 26.3):
        upto = int(now * 100)
        steady.feed(block(*(call_line("add", ts=T0 + i / 100) for i in range(fed, upto))))
        fed = upto
        # no dip as a new second starts
        assert steady.snapshot(T0 + now).rate == pytest.approx(100, rel=0.02), now
    assert agg.snapshot(T0 + 200).rate == 0.0  # nothing in the last 10 s
    assert agg.snapshot(T0 + 200).calls == 200  # totals stay


def test_per_second_chart_covers_the_last_minute() -> None:
    agg = MetricsAggregate()
    lines = []
    for second in range(120):
        lines += [call_line("add", ts=T0 + second + 0.5)] * (second % 5)
    agg.feed(block(*lines))
    snap = agg.snapshot(T0 + 119.7)
    assert len(snap.per_second) == CHART_SECONDS
    assert snap.per_second == [s % 5 for s in range(60, 120)]
    later = agg.snapshot(T0 + 150.2)
    assert later.per_second == [s % 5 for s in range(91, 120)] + [0] * 31


def test_malformed_lines_are_skipped_and_counted() -> None:
    agg = MetricsAggregate()
    agg.feed(
        block(
            call_line("add", ts=T0),
            "not json",
            '{"ts": "yesterday", "proc": "add", "ok": true, "latency_ms": 1}',
            '{"proc": "add", "ok": true, "latency_ms": 1}',  # no ts
            '{"ts": 1.0, "ok": true, "latency_ms": 1}',  # no proc
            "[1, 2, 3]",
            '{"ts": 1.0, "proc": "add", "ok": tr',
            "",
            "   ",
            call_line("add", ts=T0 + 1),
        )
    )
    snap = agg.snapshot(T0 + 2)
    assert snap.malformed == 6
    assert snap.calls == 2


def test_extra_fields_and_unknown_events_are_tolerated() -> None:
    agg = MetricsAggregate()
    line = json.loads(call_line("add", ts=T0))
    line["trace_id"] = "abc"
    agg.feed(block(json.dumps(line), json.dumps({"ts": T0, "event": "reload"})))
    snap = agg.snapshot(T0 + 1)
    assert snap.calls == 1 and snap.malformed == 0


def test_feeding_in_any_chunking_gives_the_same_snapshot() -> None:
    rng = random.Random(5)
    lines = [
        call_line(
            rng.choice(["a", "b", "c"]),
            ts=T0 + i * 0.013,
            ok=rng.random() > 0.1,
            latency_ms=rng.lognormvariate(0, 1),
        )
        for i in range(3000)
    ]
    whole = MetricsAggregate()
    whole.feed(block(*lines))
    pieces = MetricsAggregate()
    for i in range(0, len(lines), 7):
        pieces.feed(block(*lines[i : i + 7]))
    assert whole.snapshot(T0 + 40) == pieces.snapshot(T0 + 40)


def test_snapshot_percentiles_per_procedure() -> None:
    rng = random.Random(11)
    values = [rng.lognormvariate(-2, 1) for _ in range(5000)]
    agg = MetricsAggregate()
    agg.feed(
        block(*(call_line("add", ts=T0 + i * 0.001, latency_ms=v) for i, v in enumerate(values)))
    )
    proc = agg.snapshot(T0 + 10).procs[0]
    ref = sorted(values)
    assert_within_error(proc.p50_ms, nearest_rank(ref, 0.5))
    assert_within_error(proc.p95_ms, nearest_rank(ref, 0.95))
    assert_within_error(proc.p99_ms, nearest_rank(ref, 0.99))
    assert proc.max_ms == ref[-1]


def test_snapshot_is_json_serialisable() -> None:
    agg = MetricsAggregate()
    agg.feed(block(call_line("add", ts=T0)))
    data = json.loads(json.dumps(agg.snapshot(T0 + 1).to_dict()))
    assert data["calls"] == 1 and data["procs"][0]["name"] == "add"
