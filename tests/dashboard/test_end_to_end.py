"""A real calc server writes the metrics log: check it line by line, then the dashboard counts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

CALC = Path(__file__).resolve().parents[2] / "examples" / "calc" / "server"
if str(CALC) not in sys.path:
    sys.path.insert(0, str(CALC))

from runtime.stubs import SrpcCalcClientStub, SrpcCalcServerStub  # noqa: E402

from .test_command import _app  # noqa: E402

CALL_FIELDS = [
    "ts",
    "service",
    "proc",
    "ok",
    "latency_ms",
    "error",
    "peer",
    "req_bytes",
    "resp_bytes",
    "pid",
    "instance",
]
N_ADD, N_MULT, N_DIV_OK, N_DIV_ZERO = 20, 10, 5, 3


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def served_log(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "srpc_server_metrics.log"
    with SrpcCalcServerStub(port=0, metrics_log=log) as server:
        host, port = server.address
        with SrpcCalcClientStub(host, port, timeout=30) as calc:
            for i in range(N_ADD):
                assert calc.add(i, 1) == i + 1
            for i in range(N_MULT):
                assert calc.mult(i, 2) == 2 * i
            for i in range(N_DIV_OK):
                assert calc.div(i, 1) == i
            for _ in range(N_DIV_ZERO):
                with pytest.raises(ZeroDivisionError):
                    calc.div(1, 0)
            # flushed within a second while the server is still running
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and len(read_lines(log)) < 1 + 38:
                time.sleep(0.05)
            assert len(read_lines(log)) == 1 + 38
    yield log


def test_the_log_line_by_line(served_log: Path) -> None:
    lines = read_lines(served_log)
    start, *calls, stop = lines
    assert start["event"] == "start" and start["service"] == "calc"
    assert stop["event"] == "stop" and stop["service"] == "calc"
    assert len(calls) == N_ADD + N_MULT + N_DIV_OK + N_DIV_ZERO
    expected = (
        [("add", True, None)] * N_ADD
        + [("mult", True, None)] * N_MULT
        + [("div", True, None)] * N_DIV_OK
        + [("div", False, "ZeroDivisionError")] * N_DIV_ZERO
    )
    assert [(c["proc"], c["ok"], c["error"]) for c in calls] == expected
    peers = {c["peer"] for c in calls}
    assert len(peers) == 1 and str(peers.pop()).startswith("127.0.0.1:")
    previous = float(start["ts"])  # type: ignore[arg-type]
    for c in calls:
        assert list(c) == CALL_FIELDS
        assert c["service"] == "calc"
        assert isinstance(c["latency_ms"], float) and 0 <= c["latency_ms"] < 10_000
        assert isinstance(c["req_bytes"], int) and c["req_bytes"] > 0
        assert isinstance(c["resp_bytes"], int) and c["resp_bytes"] > 0
        assert isinstance(c["ts"], float) and c["ts"] >= previous
        previous = c["ts"]
    assert float(stop["ts"]) >= previous  # type: ignore[arg-type]


def test_the_dashboard_counts(served_log: Path) -> None:
    app, prefix = _app()
    result = CliRunner().invoke(app, [*prefix, str(served_log), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["calls"], data["ok"], data["failed"], data["malformed"]) == (38, 35, 3, 0)
    procs = {p["name"]: p for p in data["procs"]}
    assert sorted(procs) == ["add", "div", "mult"]
    assert (procs["add"]["calls"], procs["add"]["failed"]) == (N_ADD, 0)
    assert (procs["mult"]["calls"], procs["mult"]["failed"]) == (N_MULT, 0)
    assert (procs["div"]["calls"], procs["div"]["ok"], procs["div"]["failed"]) == (8, 5, 3)
    assert procs["div"]["last_error"] == "ZeroDivisionError"
    assert data["service"] == "calc" and data["stopped_at"] is not None
    assert procs["add"]["p50_ms"] <= procs["add"]["p99_ms"] <= procs["add"]["max_ms"]
