"""Process, socket and /proc helpers for the hardening tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from srpc.protocol import PROTOCOL_VERSION, Hello, MessageReader, encode_message

from .stubs import SERVICE, SrpcGuardServerStub

REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def open_fds(pid: int | None = None) -> int:
    return len(os.listdir(f"/proc/{pid or os.getpid()}/fd"))


def rss_bytes(pid: int | None = None) -> int:
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc status")


def connection_count(server: SrpcGuardServerStub) -> int:
    return server.connection_count


def calls_in_flight(server: SrpcGuardServerStub) -> int:
    return server.calls_in_flight


@contextlib.contextmanager
def background_server(**kwargs: Any) -> Iterator[SrpcGuardServerStub]:
    kwargs.setdefault("metrics_log", None)
    server = SrpcGuardServerStub("127.0.0.1", 0, **kwargs)
    with server:
        yield server


@contextlib.contextmanager
def script_server(code: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A server in a child process running ``code``, which prints ``PORT n`` once it listens
    and stops when its stdin closes: the process and its port."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        yield proc, int(proc.stdout.readline().split()[1])
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


class ServerProcess:
    """The hardening service in a child process (``python -m tests.hardening.serve``)."""

    def __init__(self, *args: str, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.serve", "--port", str(port), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the server process did not start: {line!r}")
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


def raw_connect(port: int, *, handshake: bool = False, token: str | None = None) -> socket.socket:
    """A plain socket to the server; optionally with a completed srpc handshake."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if handshake:
        sock.sendall(encode_message(Hello(PROTOCOL_VERSION, SERVICE.name, SERVICE.fingerprint,
                                          token)))
        reader = MessageReader()
        while not reader.feed(data := sock.recv(65536)):
            if not data:
                raise ConnectionError("the server closed the connection during the handshake")
    return sock


def recv_until_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the peer sends until it closes (or ``timeout`` passes)."""
    sock.settimeout(timeout)
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)
