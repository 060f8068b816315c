"""Two servers writing one metrics log: every line names its server, each server has its state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from runtime.stubs import SrpcCalcClientStub, SrpcCalcServerStub

from srpc.dashboard.aggregate import MetricsAggregate
from srpc.metrics import MetricsWriter

from .test_command import invoke

T0 = 1_763_900_000.0


def line(**fields: Any) -> str:
    return json.dumps({"service": "calc", **fields})


def call(instance: str | None, ts: float, pid: int = 1, **fields: Any) -> str:
    base: dict[str, Any] = {
        "ts": ts,
        "proc": "add",
        "ok": True,
        "latency_ms": 0.05,
        "error": None,
        "peer": "127.0.0.1:1",
        "req_bytes": 21,
        "resp_bytes": 12,
        "pid": pid,
        "instance": instance,
    }
    base.update(fields)
    return line(**base)


def feed(agg: MetricsAggregate, *lines: str) -> None:
    agg.feed("".join(x + "\n" for x in lines).encode())


def test_a_second_server_stopping_does_not_stop_the_first() -> None:
    """The case seen in the field: A starts, B starts in the same folder, B stops; A serves on."""
    agg = MetricsAggregate()
    feed(
        agg,
        line(ts=T0, event="start", pid=10, instance="aaaa", address="127.0.0.1:5000"),
        *[call("aaaa", T0 + 1 + i * 0.01, pid=10) for i in range(50)],
        line(ts=T0 + 2, event="start", pid=11, instance="bbbb", address="127.0.0.1:5001"),
        call("bbbb", T0 + 2.1, pid=11, ok=False, error="ValueError"),
        line(ts=T0 + 2.4, event="stop", pid=11, instance="bbbb"),
        *[call("aaaa", T0 + 3 + i * 0.01, pid=10) for i in range(30)],
    )
    snap = agg.snapshot(T0 + 20)
    assert snap.stopped_at is None  # a server still runs
    assert snap.uptime_s == 20.0 and snap.started_at == T0
    assert (snap.calls, snap.failed) == (81, 1)
    a, b = snap.servers
    assert (a.instance, a.pid, a.address, a.running) == ("aaaa", 10, "127.0.0.1:5000", True)
    assert (a.calls, a.failed, a.uptime_s, a.state) == (80, 0, 20.0, "running")
    assert (b.instance, b.pid, b.running, b.stopped_at) == ("bbbb", 11, False, T0 + 2.4)
    assert (b.calls, b.failed, b.state) == (1, 1, "stopped")
    assert abs(b.uptime_s - 0.4) < 1e-6
    feed(agg, line(ts=T0 + 70, event="stop", pid=10, instance="aaaa"))
    snap = agg.snapshot(T0 + 100)
    assert snap.stopped_at == T0 + 70 and snap.uptime_s == 70.0
    assert [s.running for s in snap.servers] == [False, False]
    assert snap.servers[0].instance == "aaaa"  # the most recently stopped first


def test_a_server_that_fell_silent_without_a_stop_event() -> None:
    """Killed (no stop event): once nothing, not even an alive event, came for SILENT_AFTER
    seconds, it is not shown as running and its uptime ends at its last line."""
    from srpc.dashboard.aggregate import SILENT_AFTER

    agg = MetricsAggregate()
    feed(
        agg,
        line(ts=T0, event="start", pid=10, instance="aaaa"),
        call("aaaa", T0 + 1, pid=10),
        line(ts=T0 + 11, event="alive", pid=10, instance="aaaa"),
    )
    alive = agg.snapshot(T0 + 11 + SILENT_AFTER - 1)
    assert alive.servers[0].state == "running" and alive.stopped_at is None
    snap = agg.snapshot(T0 + 11 + SILENT_AFTER + 1)
    [server] = snap.servers
    assert (server.state, server.running, server.uptime_s) == ("silent", False, 11.0)
    assert snap.uptime_s == 11.0 and snap.stopped_at is None
    from srpc.dashboard.view import build_header

    assert "silent since" in build_header(snap, "m.log").plain
    feed(
        agg,
        line(ts=T0 + 12, event="start", pid=11, instance="bbbb"),
        line(ts=T0 + 13, event="stop", pid=11, instance="bbbb"),
    )
    header = build_header(agg.snapshot(T0 + 11 + SILENT_AFTER + 1), "m.log").plain
    assert "servers 0 running, 1 stopped, 1 silent" in header


def test_lines_that_name_no_server_are_one_server() -> None:
    """Logs written before lines named their server: the old single-server behaviour."""
    agg = MetricsAggregate()
    feed(
        agg,
        line(ts=T0, event="start", pid=5),
        call(None, T0 + 1),
        line(ts=T0 + 10, event="stop", pid=5),
    )
    snap = agg.snapshot(T0 + 100)
    assert len(snap.servers) == 1 and snap.servers[0].pid == 5
    assert snap.uptime_s == 10.0 and snap.stopped_at == T0 + 10


def test_servers_kept_are_bounded() -> None:
    from srpc.dashboard.aggregate import MAX_SERVERS

    agg = MetricsAggregate()
    for i in range(MAX_SERVERS + 10):
        feed(
            agg,
            line(ts=T0 + i, event="start", pid=i, instance=f"s{i}"),
            call(f"s{i}", T0 + i + 0.5, pid=i),
            line(ts=T0 + i + 0.9, event="stop", pid=i, instance=f"s{i}"),
        )
    feed(agg, line(ts=T0 + 500, event="start", pid=999, instance="live"))
    snap = agg.snapshot(T0 + 510)
    assert len(snap.servers) == MAX_SERVERS
    assert snap.servers[0].instance == "live" and snap.servers[0].running
    assert snap.calls == MAX_SERVERS + 10  # forgotten servers' calls still count


def _wait_for_calls(log: Path, n: int) -> None:
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        if sum(1 for x in lines if "ok" in x) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} call lines in {log}")


def test_two_real_servers_in_one_folder(tmp_path: Path) -> None:
    log = tmp_path / "srpc_server_metrics.log"
    with SrpcCalcServerStub(port=0, metrics_log=log) as first:
        a_address = "{}:{}".format(*first.address)
        with SrpcCalcServerStub(port=0, metrics_log=log) as second:
            b_address = "{}:{}".format(*second.address)
            with SrpcCalcClientStub(*first.address, timeout=30) as calc:
                for i in range(5):
                    calc.add(i, 1)
            with SrpcCalcClientStub(*second.address, timeout=30) as calc:
                for i in range(7):
                    calc.mult(i, 2)
        _wait_for_calls(log, 12)
        code, out, err = invoke(str(log), "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["calls"] == 12 and data["stopped_at"] is None
        servers = {s["address"]: s for s in data["servers"]}
        assert set(servers) == {a_address, b_address}
        assert servers[a_address]["running"] and servers[a_address]["calls"] == 5
        assert not servers[b_address]["running"] and servers[b_address]["calls"] == 7
        assert servers[a_address]["instance"] != servers[b_address]["instance"]
        code, out, _ = invoke(str(log), "--once")
        assert code == 0
        assert "servers 1 running, 1 stopped" in out
        assert "server stopped" not in out
        [a_row] = [x for x in out.splitlines() if a_address in x]
        assert "running" in a_row and "calls 5" in a_row
        [b_row] = [x for x in out.splitlines() if b_address in x]
        assert "stopped at" in b_row and "calls 7" in b_row
    code, out, _ = invoke(str(log), "--json")
    data = json.loads(out)
    assert data["stopped_at"] is not None
    assert [s["running"] for s in data["servers"]] == [False, False]


def test_two_writers_in_two_processes_append_whole_lines(tmp_path: Path) -> None:
    """Another process appends to the same log while this one does: no line is torn, and
    each process's calls are counted under its own pid."""
    log = tmp_path / "srpc_server_metrics.log"
    here = MetricsWriter(log, service="calc", flush_interval=0.05, summarize_above=None)
    here.start(address="127.0.0.1:1")
    script = textwrap.dedent(
        f"""
        from srpc.metrics import MetricsWriter
        w = MetricsWriter({str(log)!r}, service="calc", flush_interval=0.05, summarize_above=None)
        w.start(address="127.0.0.1:2")
        for i in range(20000):
            w.record("sub", True, 0.05, None, "127.0.0.1:9", 21, 12)
            if i % 1000 == 0:
                w.flush()
        w.close()
        """
    )
    other = subprocess.Popen([sys.executable, "-c", script])
    for i in range(20000):
        here.record("add", True, 0.05, None, "127.0.0.1:9", 21, 12)
        if i % 1000 == 0:
            here.flush()
    assert other.wait(timeout=60) == 0
    here.flush()
    code, out, err = invoke(str(log), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["calls"] == 40000 and data["malformed"] == 0
    servers = {s["address"]: s for s in data["servers"]}
    assert servers["127.0.0.1:1"]["running"] and servers["127.0.0.1:1"]["calls"] == 20000
    assert not servers["127.0.0.1:2"]["running"] and servers["127.0.0.1:2"]["calls"] == 20000
    assert servers["127.0.0.1:2"]["pid"] == other.pid
    here.close()
