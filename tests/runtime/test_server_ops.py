"""What the server tells its operator: failure logs, tracebacks sent or not, the start line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import srpc
from srpc import server as srpc_server

from .stubs import CALC, SrpcKitchenClientStub, SrpcKitchenServerStub

REPO = Path(__file__).resolve().parents[2]


def test_implementation_failures_are_logged_with_their_traceback_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="srpc.server")
    with (
        SrpcKitchenServerStub(port=0, metrics_log=None) as server,
        SrpcKitchenClientStub(*server.address, timeout=30) as kitchen,
    ):
        for _ in range(40):
            with pytest.raises(ZeroDivisionError):
                kitchen.raise_error("zero")
        with pytest.raises(srpc.InvalidArguments):  # the caller's fault: not logged as a failure
            kitchen.echo_int("x")  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.name == "srpc.server"]
    whole = [line for line in lines if line.startswith("call raise_error from 127.0.0.1:")]
    assert 1 <= len(whole) <= 20, lines  # at most 10 a second, then counted
    assert "Traceback (most recent call last)" in whole[0] and "ZeroDivisionError" in whole[0]
    assert any("more failures suppressed" in line for line in lines), lines
    assert not any("echo_int" in line for line in lines)


@pytest.mark.parametrize("send", [True, False])
def test_send_tracebacks_decides_what_the_caller_sees(send: bool) -> None:
    with (
        SrpcKitchenServerStub(port=0, metrics_log=None, send_tracebacks=send) as server,
        SrpcKitchenClientStub(*server.address, timeout=30) as kitchen,
    ):
        assert server.send_tracebacks is send
        with pytest.raises(ZeroDivisionError) as info:
            kitchen.raise_error("zero")
    printed = "".join(traceback.format_exception(info.value))
    assert ("Remote traceback" in printed or "kitchen.py" in printed) is send


def test_tracebacks_are_sent_by_default_only_on_loopback() -> None:
    assert SrpcKitchenServerStub("127.0.0.1", 0, metrics_log=None).send_tracebacks
    assert not SrpcKitchenServerStub("10.1.2.3", 0, metrics_log=None).send_tracebacks  # not bound


def test_the_exposure_warning_is_printed_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, object, object]] = []

    def warn(host: str, ssl: object, token: object) -> str:
        seen.append((host, ssl, token))
        return "reachable beyond loopback without TLS or a token"

    monkeypatch.setattr(srpc_server, "exposure_warning", warn)
    with SrpcKitchenServerStub(port=0, metrics_log=None, token="t"):
        pass
    assert seen == [("127.0.0.1", None, b"t")]
    assert "srpc: warning: reachable beyond loopback" in capsys.readouterr().err


def _run_server(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "server.py"
    script.write_text(
        "from srpc_calc_server_stub import SrpcCalcServerStub\nSrpcCalcServerStub().start()\n"
    )
    full = dict(os.environ, PYTHONPATH=os.pathsep.join([str(CALC), str(REPO)]), **env)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=full,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [({"SRPC_PORT": "abc"}, "SRPC_PORT"), ({"SRPC_PORT": "99999"}, "SRPC_PORT")],
)
def test_a_bad_srpc_port_is_a_one_line_error(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = _run_server(tmp_path, env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("srpc: "), result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr


def test_the_start_line_names_the_instance_and_the_logs_absolute_path(tmp_path: Path) -> None:
    server = SrpcKitchenServerStub(port=0, metrics_log=tmp_path / "m.log").start_in_background()
    try:
        line = server._start_line()
    finally:
        server.stop()
    assert f"metrics log: {tmp_path / 'm.log'}" in line
    assert f"instance {server._metrics.instance}" in line
