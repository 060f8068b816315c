"""Runs the calc example end to end, the way a new user would: serve, call, look at the metrics.

Started by `make demo`. Picks a free port and hands it to server.py and
client.py through SRPC_PORT, so both run unchanged, as the README shows them.
Each value client.py prints is shown with the call that produced it; colour
is used only when stdout is a terminal (and NO_COLOR is not set).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, server: subprocess.Popen[str], deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server did not listen on port {port} within {deadline:.0f} s")


CALLS = ["add(4, 2)", "mult(4, 2)", "sub(4, 2)", "div(4, 2)"]
"""What client.py calls, in the order it prints the results."""


def use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def step(title: str) -> None:
    if use_colour():
        print(f"\n\033[1m== {title}\033[0m", flush=True)
    else:
        print(f"\n== {title}", flush=True)


def run_client(env: dict[str, str]) -> None:
    """Run client.py as a user would, and label each value it prints with its call."""
    result = subprocess.run(
        [sys.executable, "client.py"],
        cwd=HERE / "client",
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    values = result.stdout.split()
    if len(values) != len(CALLS):
        sys.stdout.write(result.stdout)
        raise SystemExit(f"client.py printed {len(values)} values, expected {len(CALLS)}")
    for call, value in zip(CALLS, values, strict=True):
        print(f"calc.{call} = {value}", flush=True)


def main() -> None:
    port = free_port()
    env = {**os.environ, "SRPC_PORT": str(port)}
    log = HERE / "server" / "srpc_server_metrics.log"
    log.unlink(missing_ok=True)

    step("server: python server.py")
    server = subprocess.Popen(
        [sys.executable, "server.py"], cwd=HERE / "server", env=env, text=True
    )
    try:
        wait_for_port(port, server)
        step("client: python client.py")
        run_client(env)

        step("client: calc.div(1, 0)")
        probe = (
            "import sys, traceback\n"
            "from srpc_calc_client_stub import SrpcCalcClientStub\n"
            "calc = SrpcCalcClientStub('127.0.0.1')\n"
            "try:\n"
            "    calc.div(1, 0)\n"
            "except ZeroDivisionError as exc:\n"
            "    print('calc.div(1, 0) raised', repr(exc))\n"
            "    print('with the server-side traceback:')\n"
            "    traceback.print_exc(file=sys.stdout)\n"
        )
        subprocess.run([sys.executable, "-c", probe], cwd=HERE / "client", env=env, check=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise

    step("metrics: srpc-metrics --once srpc_server_metrics.log")
    subprocess.run([str(BIN / "srpc-metrics"), "--once", log.name], cwd=HERE / "server", check=True)


if __name__ == "__main__":
    main()
