"""500 idle or half-open connections must not delay a real client's call by more than 1 s."""

from __future__ import annotations

import resource
import socket
import time

import pytest

from .helpers import background_server, connection_count, raw_connect, wait_until
from .stubs import SrpcHardeningClientStub

IDLE = 500


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * IDLE + 256  # both ends of every connection live in this process
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def test_idle_and_half_open_connections_do_not_delay_real_calls() -> None:
    with background_server() as server:
        port = server.address[1]
        idle: list[socket.socket] = []
        try:
            for i in range(IDLE):
                kind = i % 4
                if kind == 0:  # handshaken, then silent
                    idle.append(raw_connect(port, handshake=True))
                    continue
                sock = socket.create_connection(("127.0.0.1", port))
                if kind >= 2:
                    sock.sendall(b"\x00\x00")  # half a frame header
                if kind == 3:
                    sock.shutdown(socket.SHUT_WR)  # half-closed
                idle.append(sock)
            assert wait_until(lambda: connection_count(server) >= IDLE - IDLE // 4)
            worst = 0.0
            for i in range(10):
                started = time.perf_counter()
                with SrpcHardeningClientStub("127.0.0.1", port) as client:  # connect + call
                    assert client.echo(f"real {i}") == f"real {i}"
                    assert client.slow(0, f"async {i}") == f"async {i}"
                worst = max(worst, time.perf_counter() - started)
            print(f"worst connect+call next to {IDLE} idle peers: {worst * 1000:.1f} ms")
            assert worst < 1.0, f"a real call took {worst:.3f} s next to {IDLE} idle peers"
        finally:
            for sock in idle:
                sock.close()
        assert wait_until(lambda: connection_count(server) == 0)
