"""``srpc-metrics nats://host:port/SERVICE``: every instance's STATS as the dashboard's rows;
the aggregate on its own, then the command against fake instances on a real nats-server."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from srpc.cli import app
from srpc.dashboard.instances import InstancesAggregate
from srpc.dashboard.view import build_dashboard
from srpc.metrics import latency_bucket
from srpc.nats.service import EndpointStats, InstanceStats

from .fake_instances import FINGERPRINT_A, FINGERPRINT_B, ServedInstances, identity
from .natsd import NatsServer

runner = CliRunner()
T0 = 1_764_590_000.0
STARTED = datetime.datetime.fromtimestamp(T0 - 100, datetime.timezone.utc)


def _endpoint(proc: str, calls: int, errors: int = 0, latency_ms: float = 1.0) -> EndpointStats:
    return EndpointStats(
        procedure=proc,
        num_requests=calls,
        num_errors=errors,
        last_error="ValueError" if errors else "",
        processing_time_ns=int(calls * latency_ms * 1e6),
        average_processing_time_ns=int(latency_ms * 1e6),
        latency_hist={latency_bucket(latency_ms): calls} if calls else {},
        latency_min_ms=latency_ms if calls else None,
        latency_max_ms=latency_ms if calls else None,
    )


def _instance(
    instance_id: str, *endpoints: EndpointStats, started: datetime.datetime = STARTED
) -> InstanceStats:
    return InstanceStats(
        service="calc",
        fingerprint=FINGERPRINT_A,
        instance_id=instance_id,
        version="0.1.0",
        address="nats://127.0.0.1:4222",
        host="h",
        pid=7,
        started=started,
        endpoints=endpoints,
    )


def test_rows_per_procedure_and_per_instance_with_rates_from_the_polls() -> None:
    agg = InstancesAggregate("calc")
    agg.feed([_instance("i1", _endpoint("add", 100)), _instance("i2", _endpoint("add", 50))], T0)
    agg.feed(
        [
            _instance("i1", _endpoint("add", 110), _endpoint("div", 4, 1, 8.0)),
            _instance("i2", _endpoint("add", 70, latency_ms=3.0)),
        ],
        T0 + 2,
    )
    snap = agg.snapshot(T0 + 2)
    rows = {p.name: p for p in snap.procs}
    assert list(rows) == ["add", "add @ i1", "add @ i2", "div", "div @ i1"]
    assert (rows["add"].calls, rows["add @ i1"].calls, rows["add @ i2"].calls) == (180, 110, 70)
    # the counts before the first poll are not in the rates: 10 + 20 more calls over 2 s
    assert rows["add @ i1"].rate == pytest.approx(5.0)
    assert rows["add @ i2"].rate == pytest.approx(10.0)
    assert rows["add"].rate == pytest.approx(15.0)
    assert rows["div"].rate == pytest.approx(2.0)  # a new procedure: every call is since
    assert (rows["div"].failed, rows["div"].last_error) == (1, "ValueError")
    assert rows["add @ i1"].p50_ms == pytest.approx(1.0, rel=0.01)
    assert rows["add @ i2"].max_ms == 3.0 and rows["add"].max_ms == 3.0
    assert rows["add @ i1"].instance == "i1" and rows["add"].instance is None
    assert rows["add @ i2"].procedure == "add"
    assert (snap.calls, snap.failed, snap.rate) == (184, 1, pytest.approx(17.0))
    assert [s.instance for s in snap.servers] == ["i1", "i2"]
    assert all(s.running for s in snap.servers) and snap.servers[0].calls == 114
    assert snap.uptime_s == pytest.approx(102.0)
    assert sum(snap.per_second) == 34


def test_an_instance_that_stops_answering_turns_silent_and_keeps_its_counts() -> None:
    agg = InstancesAggregate("calc", silent_after=2.0)
    agg.feed([_instance("i1", _endpoint("add", 5)), _instance("i2", _endpoint("add", 5))], T0)
    agg.feed([_instance("i1", _endpoint("add", 6))], T0 + 1)
    agg.feed([_instance("i1", _endpoint("add", 7))], T0 + 3)
    snap = agg.snapshot(T0 + 3)
    states = {s.instance: s.state for s in snap.servers}
    assert states == {"i1": "running", "i2": "silent"}
    assert snap.calls == 12 and snap.servers[0].instance == "i1"


def test_an_instance_started_while_watched_counts_all_its_calls_in_the_rate() -> None:
    agg = InstancesAggregate("calc")
    agg.feed([], T0)
    later = datetime.datetime.fromtimestamp(T0 + 0.5, datetime.timezone.utc)
    agg.feed([_instance("new", _endpoint("add", 8), started=later)], T0 + 1)
    assert agg.snapshot(T0 + 1).rate == pytest.approx(8.0)


def test_the_view_draws_it_as_a_nats_source() -> None:
    from rich.console import Console

    agg = InstancesAggregate("calc")
    agg.feed([_instance("i1", _endpoint("add", 3))], T0)
    console = Console(width=160, record=True, color_system=None)
    console.print(build_dashboard(agg.snapshot(T0), "nats://127.0.0.1:4222/calc", source="nats"))
    text = console.export_text()
    assert "nats nats://127.0.0.1:4222/calc" in text and "add @ i1" in text
    assert "malformed" not in text


# -- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calc_fleet(natsd: NatsServer) -> Iterator[ServedInstances]:
    served = ServedInstances(natsd.url)
    try:
        served.add(identity("calc", FINGERPRINT_A, "inst1", ("add", "div")))
        served.add(identity("calc", FINGERPRINT_A, "inst2", ("add", "div")))
        served.add(identity("calc", FINGERPRINT_B, "inst3", ("add", "div", "mult")))
        served.add_micro("calc")
        for latency in (0.1, 0.2, 0.4):
            served.record("inst1", "add", True, latency)
        served.record("inst1", "div", False, 0.3, "ZeroDivisionError")
        served.record("inst2", "add", True, 5.0)
        yield served
    finally:
        served.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_once_shows_every_instance(calc_fleet: ServedInstances, natsd: NatsServer) -> None:
    result = runner.invoke(app, ["metrics", f"{natsd.url}/calc", "--once"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"nats {natsd.url}/calc" in out
    assert "calls 5" in out and "failed 1" in out
    assert "servers 3 running" in out
    assert f"inst3 pid 4242 testhost fingerprint {FINGERPRINT_B[:12]}" in out  # an upgrade
    rows = {
        " ".join(line.split()[:3]) if " @ " in line else line.split()[0]: line.split()
        for line in out.splitlines()
        if line.strip().startswith(("add", "div", "mult"))
    }
    assert rows["add"][1] == "4" and rows["add @ inst1"][3] == "3"
    assert rows["add @ inst2"][3] == "1" and rows["add @ inst3"][3] == "0"
    assert rows["div @ inst1"][-1] == "ZeroDivisionError"
    assert "mult @ inst3" in rows and "mult" in rows


def test_json_has_the_rows_and_the_instances(
    calc_fleet: ServedInstances, natsd: NatsServer
) -> None:
    calc_fleet.record("inst3", "mult", True, 1.0)
    result = runner.invoke(app, ["metrics", f"{natsd.url}/calc", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["nats"] == f"{natsd.url}/calc" and data["service"] == "calc"
    assert data["calls"] == 6
    by_name = {p["name"]: p for p in data["procs"]}
    assert by_name["add @ inst1"]["instance"] == "inst1"
    assert by_name["add @ inst1"]["procedure"] == "add"
    assert by_name["add @ inst1"]["max_ms"] == pytest.approx(0.4)
    assert by_name["add"]["calls"] == 4 and by_name["add"]["instance"] is None
    assert by_name["mult @ inst3"]["calls"] == 1
    assert {s["instance"] for s in data["servers"]} == {"inst1", "inst2", "inst3"}
    assert all(s["state"] == "running" and s["pid"] == 4242 for s in data["servers"])
    prints = {s["instance"]: s["fingerprint"] for s in data["servers"]}
    assert prints == {"inst1": FINGERPRINT_A, "inst2": FINGERPRINT_A, "inst3": FINGERPRINT_B}


def test_a_service_nobody_serves_is_exit_1(calc_fleet: ServedInstances, natsd: NatsServer) -> None:
    result = runner.invoke(app, ["metrics", f"{natsd.url}/nobody", "--once"])
    assert result.exit_code == 1
    assert "no instance of nobody answers" in result.stderr


def test_the_service_must_be_named_and_the_server_reachable(natsd: NatsServer) -> None:
    result = runner.invoke(app, ["metrics", natsd.url, "--once"])
    assert result.exit_code == 2 and "name the service" in result.stderr
    url = f"nats://127.0.0.1:{_free_port()}/calc"
    result = runner.invoke(app, ["metrics", url, "--json"])
    assert result.exit_code == 1 and "cannot reach the NATS server" in result.stderr


def test_a_log_path_still_works_beside(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    result = runner.invoke(app, ["metrics", str(tmp_path / "missing.log"), "--once"])
    assert result.exit_code == 1 and "no metrics log at" in result.stderr


def test_the_poller_says_when_nats_is_gone_and_reconnects_when_it_is_back() -> None:
    from srpc._nats_tools import NatsUnavailable, StatsPoller, parse_nats_target

    from .natsd import nats_server

    with nats_server() as first:
        port = first.port
        with ServedInstances(first.url) as served:
            served.add(identity("calc", FINGERPRINT_A, "back-1"))
            poller = StatsPoller(parse_nats_target(f"{first.url}/calc"), 0.15)
            try:
                assert [s.instance_id for s in poller.poll()] == ["back-1"]
                first.stop()
                with pytest.raises(NatsUnavailable):
                    for _ in range(20):  # the client notices the close within a poll or two
                        poller.poll()
                with nats_server(port=port) as second, ServedInstances(second.url) as again:
                    again.add(identity("calc", FINGERPRINT_A, "back-2"))
                    assert [s.instance_id for s in poller.poll()] == ["back-2"]
            finally:
                poller.close()
