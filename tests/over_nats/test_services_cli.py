"""``srpc services nats://...``: in process with typer's CliRunner against fake instances, and
once as a real subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srpc._nats_tools import parse_nats_target
from srpc.cli import SHORT_HELP, app

from .fake_instances import FINGERPRINT_A, FINGERPRINT_B, ServedInstances, identity
from .natsd import NatsServer, nats_server

runner = CliRunner()
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def fleet(natsd: NatsServer) -> Iterator[ServedInstances]:
    """calc on three instances of two fingerprints, greeter on one, and a non-srpc calc."""
    served = ServedInstances(natsd.url)
    try:
        served.add(identity("calc", FINGERPRINT_A, "calc-1", address=natsd.url, pid=101))
        served.add(identity("calc", FINGERPRINT_A, "calc-2", address=natsd.url, pid=102))
        served.add(identity("calc", FINGERPRINT_B, "calc-3", ("add", "sub", "mult"), pid=103))
        served.add(identity("greeter", FINGERPRINT_B, "greet-1", ("hello",), address=natsd.url))
        served.add_micro("calc")
        for _ in range(5):
            served.record("calc-1", "add")
        served.record("calc-1", "sub", ok=False, error="ZeroDivisionError")
        served.record("calc-2", "add")
        yield served
    finally:
        served.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_lists_every_srpc_service_with_its_instances(
    fleet: ServedInstances, natsd: NatsServer
) -> None:
    result = runner.invoke(app, ["services", natsd.url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"2 srpc services, 4 instances on {natsd.url}" in out
    assert (
        "calc: 3 instances, 2 fingerprints" in out and "greeter: 1 instance, 1 fingerprint" in out
    )
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    assert rows["calc-1"] == [
        "calc-1", FINGERPRINT_A[:12], natsd.url, "testhost", "101", "6", "1"
    ]  # fmt: skip
    assert rows["calc-2"][-2:] == ["1", "0"]
    assert rows["calc-3"][1] == FINGERPRINT_B[:12] and rows["calc-3"][-2:] == ["0", "0"]
    assert "greet-1" in rows
    assert len([line for line in out.splitlines() if "echo" in line]) == 0  # the micro service


def test_json_and_one_service(fleet: ServedInstances, natsd: NatsServer) -> None:
    result = runner.invoke(app, ["services", f"{natsd.url}/calc", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["nats"] == natsd.url
    (calc,) = data["services"]
    assert calc["service"] == "calc"
    assert calc["fingerprints"] == [FINGERPRINT_A, FINGERPRINT_B]
    one, two, three = calc["instances"]
    assert (one["id"], one["calls"], one["errors"], one["pid"]) == ("calc-1", 6, 1, 101)
    assert one["procedures"] == ["add", "sub"] and three["procedures"] == ["add", "sub", "mult"]
    assert one["subject"] == f"srpc.calc.{FINGERPRINT_A[:16]}" and one["queue_group"] == "srpc.calc"
    assert one["started"] == "2026-12-01T11:00:00.123456+00:00"
    sub = next(e for e in one["endpoints"] if e["procedure"] == "sub")
    assert (sub["calls"], sub["errors"], sub["last_error"]) == (1, 1, "ZeroDivisionError")
    assert (two["calls"], three["calls"]) == (1, 0)


def test_no_services_is_said_and_is_not_an_error(natsd: NatsServer, fleet: ServedInstances) -> None:
    result = runner.invoke(app, ["services", f"{natsd.url}/nobody", "--timeout", "0.2"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"no srpc service 'nobody' on {natsd.url}"
    result = runner.invoke(app, ["services", f"{natsd.url}/nobody", "--json"])
    assert json.loads(result.stdout)["services"] == []


def test_an_unreachable_nats_server_is_exit_1_with_a_message() -> None:
    url = f"nats://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["services", url])
    assert result.exit_code == 1
    assert f"error: cannot reach the NATS server at {url}" in result.stderr
    assert "Traceback" not in result.output


def test_a_wrong_token_is_exit_1_and_the_token_is_not_shown() -> None:
    with nats_server(token="s3cret") as secured:
        bad = secured.url.replace("nats://", "nats://wrong@")
        result = runner.invoke(app, ["services", bad])
        assert result.exit_code == 1
        assert f"cannot reach the NATS server at {secured.url}" in result.stderr
        assert "wrong" not in result.stderr
        good = secured.url.replace("nats://", "nats://s3cret@")
        result = runner.invoke(app, ["services", good, "--timeout", "0.2"])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"no srpc services on {secured.url}"


@pytest.mark.parametrize(
    "target",
    ["127.0.0.1:4222", "tcp://127.0.0.1:4222", "nats://", "nats://h:99999", "nats://h/a/b"],
)
def test_a_target_that_is_not_a_nats_url_is_a_usage_error(target: str) -> None:
    result = runner.invoke(app, ["services", target])
    assert result.exit_code == 2
    assert "NATS_URL" in result.stderr


def test_targets_are_taken_apart() -> None:
    t = parse_nats_target("nats://user:pw@10.0.0.5/calc")
    assert (t.url, t.address, t.service) == (
        "nats://user:pw@10.0.0.5:4222",
        "nats://10.0.0.5:4222",
        "calc",
    )
    t = parse_nats_target("tls://tok@[::1]:4333")
    assert (t.url, t.address, t.service) == ("tls://tok@[::1]:4333", "tls://[::1]:4333", None)


def test_help_has_an_example_and_is_listed() -> None:
    result = runner.invoke(app, ["services", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "srpc services nats://127.0.0.1:4222" in result.stdout.split("Example:")[1]
    listing = " ".join(runner.invoke(app, ["--help"]).stdout.split())
    assert SHORT_HELP["services"] in listing


@pytest.mark.slow
def test_a_real_subprocess_lists_them(fleet: ServedInstances, natsd: NatsServer) -> None:
    done = subprocess.run(
        [str(BIN / "srpc"), "services", natsd.url, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    names = [s["service"] for s in json.loads(done.stdout)["services"]]
    assert names == ["calc", "greeter"]
    done = subprocess.run(
        [sys.executable, "-m", "srpc", "services", f"nats://127.0.0.1:{_free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "cannot reach the NATS server" in done.stderr
