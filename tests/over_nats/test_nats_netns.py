"""Calls that really cross hosts: instances in network namespaces of their own, reaching the
NATS server over veth links. Needs root and a working ``ip netns``; skipped otherwise."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.stubs import SrpcKitchenClientStub

from .natsd import nats_server

REPO = Path(__file__).resolve().parents[2]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class _Hosts:
    """Two namespaces, each linked to this one by a veth pair: "hosts" 10.N.i.2 that reach
    this namespace at 10.N.i.1."""

    def __init__(self) -> None:
        self.tag = f"{os.getpid() % 100000}"
        self.net = random.randint(100, 250)
        self.names: list[str] = []

    def make(self, count: int) -> None:
        for i in range(count):
            name = f"srpc{self.tag}h{i}"
            outer, inner = f"sr{self.tag}o{i}", f"sr{self.tag}i{i}"
            _ip("netns", "add", name)
            self.names.append(name)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", name)
            _ip("addr", "add", f"10.{self.net}.{i}.1/24", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("netns", "exec", name, "ip", "addr", "add", f"10.{self.net}.{i}.2/24", "dev", inner)
            _ip("netns", "exec", name, "ip", "link", "set", inner, "up")
            _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")

    def gateway(self, i: int) -> str:
        return f"10.{self.net}.{i}.1"

    def remove(self) -> None:
        for name in self.names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@pytest.fixture
def hosts() -> Iterator[_Hosts]:
    if not sys.platform.startswith("linux") or shutil.which("ip") is None:
        pytest.skip("network namespaces need Linux and the ip command")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add)")
    made = _Hosts()
    try:
        made.make(2)
    except subprocess.CalledProcessError as exc:
        made.remove()
        pytest.skip(f"ip netns does not work here: {exc.stderr.strip() or exc}")
    try:
        yield made
    finally:
        made.remove()


def test_instances_on_two_other_hosts_serve_and_one_dies(hosts: _Hosts, tmp_path: Path) -> None:
    token = f"t{random.getrandbits(64):x}"  # it listens on every address while the test runs
    with nats_server(host="0.0.0.0", token=token) as natsd:
        processes = []
        try:
            for i, name in enumerate(hosts.names):
                url = f"nats://{token}@{hosts.gateway(i)}:{natsd.port}"
                log = tmp_path / f"calls-{i}.log"
                process = subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        name,
                        sys.executable,
                        "-m",
                        "tests.over_nats.instance",
                        url,
                        str(log),
                    ],
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                )
                processes.append((process, log))
            for process, _ in processes:
                assert process.stdout is not None
                line = process.stdout.readline()
                assert "srpc: serving kitchen" in line, line
            local = f"nats://{token}@127.0.0.1:{natsd.port}"
            with SrpcKitchenClientStub(local, timeout=10) as kitchen:
                for i in range(60):
                    assert kitchen.echo_str(f"v{i}") == f"v{i}"
                counts = [len(log.read_text().split()) for _, log in processes]
                assert sum(counts) == 60 and all(counts), counts
                processes[0][0].send_signal(signal.SIGKILL)
                processes[0][0].wait()
                for i in range(20):  # the other host serves them all
                    assert kitchen.echo_str(f"w{i}") == f"w{i}"
        finally:
            for process, _ in processes:
                if process.poll() is None:
                    process.kill()
                process.wait()
