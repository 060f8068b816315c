"""500 idle or half-open connections must not delay a real client's call by more than 1 s."""

from __future__ import annotations

import resource
import socket
import time

import pytest

from srpc.protocol import PROTOCOL_VERSION, Hello, MessageReader, encode_message

from .helpers import (
    ServerProcess,
    background_server,
    connection_count,
    open_fds,
    raw_connect,
    rss_bytes,
    wait_until,
)
from .stubs import SERVICE, SrpcGuardClientStub

_HELLO = bytes(encode_message(Hello(PROTOCOL_VERSION, SERVICE.name, SERVICE.fingerprint, None)))

IDLE = 500


def _connect_from(n: int, port: int) -> socket.socket:
    """A connection from peer ``n``'s own loopback address (127.0.0.2, ...): the server caps
    connections per peer address (``max_connections_per_peer``), and these are many peers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((f"127.0.{n // 250}.{2 + n % 250}", 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * IDLE + 256  # both ends of every connection live in this process
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def test_idle_and_half_open_connections_do_not_delay_real_calls() -> None:
    # 375 of them never finish a handshake: room for all in the handshake slots.
    with background_server(max_handshaking=IDLE) as server:
        port = server.address[1]
        idle: list[socket.socket] = []
        try:
            for i in range(IDLE):
                kind = i % 4
                if kind == 0:  # handshaken, then silent
                    sock = _connect_from(i, port)
                    sock.sendall(_HELLO)
                    MessageReader().feed(sock.recv(65536))
                    idle.append(sock)
                    continue
                sock = _connect_from(i, port)
                if kind >= 2:
                    sock.sendall(b"\x00\x00")  # half a frame header
                if kind == 3:
                    sock.shutdown(socket.SHUT_WR)  # half-closed
                idle.append(sock)
            assert wait_until(lambda: connection_count(server) >= IDLE - IDLE // 4)
            worst = 0.0
            for i in range(10):
                started = time.perf_counter()
                with SrpcGuardClientStub("127.0.0.1", port) as client:  # connect + call
                    assert client.echo(f"real {i}") == f"real {i}"
                    assert client.slow(0, f"async {i}") == f"async {i}"
                worst = max(worst, time.perf_counter() - started)
            print(f"worst connect+call next to {IDLE} idle peers: {worst * 1000:.1f} ms")
            assert worst < 1.0, f"a real call took {worst:.3f} s next to {IDLE} idle peers"
        finally:
            for sock in idle:
                sock.close()
        assert wait_until(lambda: connection_count(server) == 0)


def test_unauthenticated_connections_cost_little_memory() -> None:
    count = 200  # under max_handshaking (256): all held, none evicted
    with ServerProcess("--token", "s3cret") as server:
        idle: list[socket.socket] = []
        try:
            warm = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
            for sock in warm:
                sock.close()
            time.sleep(0.3)
            before = rss_bytes(server.pid)
            for n in range(count):
                sock = _connect_from(n, server.port)
                sock.sendall(b"\x00\x00")  # a partial header: the server must keep waiting
                idle.append(sock)
            assert wait_until(lambda: open_fds(server.pid) >= count)
            time.sleep(0.3)
            per_connection = (rss_bytes(server.pid) - before) / count
        finally:
            for sock in idle:
                sock.close()
    print(f"server memory per unauthenticated connection: {per_connection / 1024:.1f} KiB")
    assert per_connection < 64 * 1024


def test_a_declared_frame_size_is_not_allocated_before_its_bytes_arrive() -> None:
    peers = 8
    declared = 60 * 1024 * 1024  # under the 64 MiB default limit
    with ServerProcess() as server:
        socks = [raw_connect(server.port, handshake=True) for _ in range(peers)]
        try:
            time.sleep(0.3)
            before = rss_bytes(server.pid)
            for sock in socks:
                sock.sendall(declared.to_bytes(4, "big") + b"\x00" * 100_000)
            time.sleep(0.5)
            grown = rss_bytes(server.pid) - before
        finally:
            for sock in socks:
                sock.close()
    print(f"server memory for {peers} peers each declaring a 60 MiB frame and sending 100 kB: "
          f"{grown / 2**20:.1f} MiB")
    assert grown < peers * 4 * 2**20  # not peers * 60 MiB


def test_a_client_that_never_reads_replies_cannot_grow_the_server() -> None:
    from srpc.codec import encoder
    from srpc.protocol import encode_request

    ids = iter(range(1, 2**62))
    with ServerProcess() as server:
        sock = raw_connect(server.port, handshake=True)
        try:
            time.sleep(0.2)
            before = rss_bytes(server.pid)
            sock.setblocking(False)
            sent, stalled_since, pending = 0, None, b""
            while True:  # push requests until the server stops taking them for a second
                if not pending:
                    pending = b"".join(
                        bytes(encode_request(encoder, next(ids), "echo", ("x" * 1000,), {}))
                        for _ in range(64)
                    )
                try:
                    n = sock.send(pending)
                    pending = pending[n:]
                    sent += n
                    stalled_since = None
                except BlockingIOError:
                    stalled_since = stalled_since or time.monotonic()
                    if time.monotonic() - stalled_since > 1.0:
                        break
                    time.sleep(0.01)
                assert sent < 512 * 2**20, "the server kept reading without bound"
            grown = rss_bytes(server.pid) - before
        finally:
            sock.close()
    print(f"a client that never reads: server took {sent / 2**20:.1f} MiB of requests, "
          f"grew by {grown / 2**20:.1f} MiB, then stopped reading")
    assert grown < 64 * 2**20
