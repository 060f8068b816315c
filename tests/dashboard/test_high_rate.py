"""The log at high rates: summary lines written by a real MetricsWriter, read by ``srpc-metrics``.

The dashboard must show the same counts and percentiles whether the writer
logged every call or summarised them, and must count every call of a run at
full speed, across rotated backups.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from srpc.dashboard.aggregate import MetricsAggregate
from srpc.metrics import MetricsWriter

from .test_command import invoke

PROCS = ["add", "sub", "mult", "div"]
NAMES = [[p] for p in PROCS]
FIGURES = ("calls", "ok", "failed", "error_pct", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def records(n: int, seed: int = 7) -> list[tuple[str, bool, float, str | None, str, int, int]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        proc = PROCS[i % 4]
        ok = not (proc == "div" and rng.random() < 0.05)
        latency = rng.lognormvariate(-3.0, 1.0) if proc != "mult" else rng.uniform(0.01, 80.0)
        error = None if ok else rng.choice(["ZeroDivisionError", "ValueError"])
        out.append((proc, ok, latency, error, f"127.0.0.1:{50000 + i % 7}", 21, 12))
    return out


def write_log(path: Path, recs: list[Any], summarize_above: float | None, **kw: Any) -> Path:
    w = MetricsWriter(path, service="calc", summarize_above=summarize_above, **kw)
    w.start(address="127.0.0.1:5000")
    for rec in recs:
        w.record(*rec)
    w.close()
    return path


def json_snapshot(log: Path) -> dict[str, Any]:
    code, out, err = invoke(str(log), "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_same_counts_and_percentiles_whether_summarised_or_not(tmp_path: Path) -> None:
    recs = records(20_000)
    per_call = write_log(tmp_path / "calls.log", recs, None)
    summarised = write_log(tmp_path / "summary.log", recs, 0)
    assert sum(1 for _ in per_call.open()) == 20_002
    assert sum(1 for _ in summarised.open()) < 100  # a few summary lines per second
    a, b = json_snapshot(per_call), json_snapshot(summarised)
    for key in ("calls", "ok", "failed", "malformed"):
        assert a[key] == b[key], key
    assert a["calls"] == 20_000 and a["malformed"] == 0
    figures_a = [{k: p[k] for k in ("name", *FIGURES)} for p in a["procs"]]
    figures_b = [{k: p[k] for k in ("name", *FIGURES)} for p in b["procs"]]
    assert figures_a == figures_b
    # the last error is the last failed call's type in both forms
    assert {p["name"]: p["last_error"] for p in a["procs"]} == {
        p["name"]: p["last_error"] for p in b["procs"]
    }
    # and the --once tables agree on everything but the clock-dependent rates
    rows = []
    for log in (per_call, summarised):
        code, out, _ = invoke(str(log), "--once")
        assert code == 0
        table = [cells for cells in map(str.split, out.splitlines()) if cells[:1] in NAMES]
        rows.append([row[:5] + row[6:] for row in table])  # drop the calls/s column
    assert rows[0] == rows[1] and len(rows[0]) == 4


def test_a_full_speed_run_is_summarised_and_every_call_counted(tmp_path: Path) -> None:
    """Many threads record as fast as they can (far beyond 20k calls/s); small files force
    rotation, and the dashboard reads the backups too."""
    log = tmp_path / "srpc_server_metrics.log"
    w = MetricsWriter(log, service="calc", max_bytes=64 * 1024, backups=50, flush_interval=0.1)
    w.start()
    recs = records(50_000)
    barrier = threading.Barrier(4)

    def run(part: list[Any]) -> None:
        barrier.wait()
        for rec in part:
            w.record(*rec)

    threads = [threading.Thread(target=run, args=(recs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    w.close()
    files = [log, *sorted(tmp_path.glob("srpc_server_metrics.log.*"))]
    assert len(files) < 51  # nothing rotated away
    size = sum(f.stat().st_size for f in files)
    assert w.summarized_batches > 0
    assert size / len(recs) < 20  # a call line alone is ~190 bytes
    data = json_snapshot(log)
    assert data["calls"] == len(recs) and data["malformed"] == 0
    failed = sum(1 for r in recs if not r[1])
    assert data["failed"] == failed
    by_name = {p["name"]: p["calls"] for p in data["procs"]}
    assert by_name == {p: len(recs) // 4 for p in PROCS}


def test_summary_lines_that_do_not_add_up_are_malformed() -> None:
    good = {
        "ts": 1_763_900_000.5,
        "first_ts": 1_763_900_000.1,
        "service": "calc",
        "proc": "add",
        "calls": 3,
        "failed": 1,
        "latency_min_ms": 0.05,
        "latency_max_ms": 0.07,
        "hist": {"-150": 2, "-148": 1},
        "errors": {"ValueError": 1},
        "last_error": "ValueError",
    }
    bad = [
        {**good, "calls": 4},  # the histogram holds 3
        {**good, "failed": 5},
        {**good, "hist": {"-150": -1, "-148": 4}},
        {**good, "latency_min_ms": 1.0},  # min above max
        {k: v for k, v in good.items() if k != "hist"},
        {**good, "calls": "3"},
    ]
    agg = MetricsAggregate()
    agg.feed("".join(json.dumps(x) + "\n" for x in [good, *bad]).encode())
    snap = agg.snapshot(1_763_900_001.0)
    assert snap.calls == 3 and snap.failed == 1 and snap.malformed == len(bad)
    assert snap.procs[0].last_error == "ValueError"
    assert snap.procs[0].max_ms == 0.07
    assert snap.per_second[-2] == 3


@pytest.mark.parametrize("extra", [{"items_in": 3, "items_out": 0}, {"items_in": 0}])
def test_stream_item_counts_are_accepted(extra: dict[str, int]) -> None:
    line = {
        "ts": 1_763_900_000.5,
        "service": "calc",
        "proc": "numbers",
        "ok": True,
        "latency_ms": 1.5,
        "error": None,
        "peer": "127.0.0.1:1",
        "req_bytes": 21,
        "resp_bytes": 40,
        **extra,
    }
    agg = MetricsAggregate()
    agg.feed((json.dumps(line) + "\n").encode())
    snap = agg.snapshot(1_763_900_001.0)
    assert snap.calls == 1 and snap.malformed == 0


def test_a_real_server_at_full_speed_every_call_counted(tmp_path: Path) -> None:
    """Threads share one stub against a real calc server; whatever form the writer chose for
    each batch, the dashboard's counts are the calls made."""
    from runtime.stubs import SrpcCalcClientStub, SrpcCalcServerStub

    log = tmp_path / "srpc_server_metrics.log"
    per_thread = 1500
    errors: list[BaseException] = []

    def run(calc: SrpcCalcClientStub, k: int) -> None:
        try:
            for i in range(per_thread):
                if k == 3 and i % 100 == 0:
                    try:
                        calc.div(i, 0)
                    except ZeroDivisionError:
                        continue
                calc.add(i, k)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    server = SrpcCalcServerStub(port=0, metrics_log=log)
    with server, SrpcCalcClientStub(*server.address, timeout=60) as calc:
        threads = [threading.Thread(target=run, args=(calc, k)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    data = json_snapshot(log)
    assert data["calls"] == 4 * per_thread and data["malformed"] == 0
    assert data["failed"] == per_thread // 100
    procs = {p["name"]: p for p in data["procs"]}
    assert procs["div"]["calls"] == procs["div"]["failed"] == per_thread // 100
    assert procs["div"]["last_error"] == "ZeroDivisionError"
    assert procs["add"]["calls"] == 4 * per_thread - per_thread // 100
    [server_state] = data["servers"]
    assert server_state["calls"] == 4 * per_thread and not server_state["running"]
