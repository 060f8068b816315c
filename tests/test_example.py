"""The SPEC §2 workflow, typed as a new user types it, with real processes and sockets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "calc"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    end = time.monotonic() + 20
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"server never listened on {port}")


def test_committed_example_stubs_have_not_drifted() -> None:
    result = subprocess.run(
        [str(BIN / "srpc-stubgen"), "--check", "calc/calc_interface.py"],
        cwd=EXAMPLE / "server",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for copied in ("srpc_calc_client_stub.py", "calc/calc_interface.py"):
        assert (EXAMPLE / "client" / copied).read_text() == (
            EXAMPLE / "server" / copied
        ).read_text(), f"client/{copied} differs from server/{copied}: run `make gen`"


def test_calc_workflow_end_to_end(tmp_path: Path) -> None:
    server_dir = tmp_path / "server"
    client_dir = tmp_path / "client"
    (server_dir / "calc").mkdir(parents=True)
    (client_dir / "calc").mkdir(parents=True)
    for name in ("__init__.py", "calc_interface.py", "calc.py"):
        shutil.copy(EXAMPLE / "server" / "calc" / name, server_dir / "calc" / name)
    shutil.copy(EXAMPLE / "server" / "server.py", server_dir)
    shutil.copy(EXAMPLE / "client" / "client.py", client_dir)

    gen = subprocess.run(
        [str(BIN / "srpc-stubgen"), "calc/calc_interface.py"],
        cwd=server_dir,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    assert (server_dir / "srpc_calc_server_stub.py").exists()
    shutil.copy(server_dir / "srpc_calc_client_stub.py", client_dir)
    for name in ("__init__.py", "calc_interface.py"):
        shutil.copy(server_dir / "calc" / name, client_dir / "calc" / name)

    port = _free_port()
    env = {**os.environ, "SRPC_PORT": str(port)}
    env.pop("SRPC_HOST", None)
    server = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=server_dir,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, server)
        client = subprocess.run(
            [sys.executable, "client.py"], cwd=client_dir, env=env, capture_output=True, text=True
        )
        assert client.returncode == 0, client.stderr
        assert client.stdout.split() == ["6", "8", "2", "2.0"]

        probe = (
            "from srpc_calc_client_stub import SrpcCalcClientStub\n"
            "calc = SrpcCalcClientStub('127.0.0.1')\n"
            "calc.div(1, 0)\n"
        )
        crashed = subprocess.run(
            [sys.executable, "-c", probe], cwd=client_dir, env=env, capture_output=True, text=True
        )
        assert crashed.returncode == 1
        assert "ZeroDivisionError: division by zero" in crashed.stderr
        # The server's side of the traceback is shown too: it names the implementation file.
        assert "calc.py" in crashed.stderr
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    start_line = out.strip().splitlines()[0]
    assert "calc" in start_line and str(port) in start_line

    records = [
        json.loads(line)
        for line in (server_dir / "srpc_server_metrics.log").read_text().splitlines()
    ]
    assert records[0]["event"] == "start" and records[-1]["event"] == "stop"
    calls = [r for r in records if "proc" in r]
    assert [(r["proc"], r["ok"]) for r in calls] == [
        ("add", True),
        ("mult", True),
        ("sub", True),
        ("div", True),
        ("div", False),
    ]
    assert calls[-1]["error"] == "ZeroDivisionError"

    snapshot = subprocess.run(
        [str(BIN / "srpc-metrics"), "--json", "srpc_server_metrics.log"],
        cwd=server_dir,
        capture_output=True,
        text=True,
    )
    assert snapshot.returncode == 0, snapshot.stderr
    assert "div" in snapshot.stdout
