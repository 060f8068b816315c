"""TLS, the shared token and the resource limits, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from msgspec import Raw

from srpc import (
    AuthenticationFailed,
    ConnectError,
    ConnectionLost,
    ProtocolError,
    SrpcError,
    TooManyConnections,
)
from srpc.codec import encoder
from srpc.protocol import MessageReader, Reply, Request, encode_message, encode_request
from srpc.security import client_ssl_context, server_ssl_context

from .certs import ThrowawayPKI
from .helpers import (
    background_server,
    calls_in_flight,
    connection_count,
    raw_connect,
    recv_until_closed,
    wait_until,
)
from .stubs import Guard, SrpcGuardAsyncClientStub, SrpcGuardClientStub


class CountingImpl(Guard):
    def __init__(self) -> None:
        self.calls = 0

    def echo(self, value: str) -> str:
        self.calls += 1
        return value


# --- TLS ---------------------------------------------------------------------------------


def test_tls_call_with_ca_and_host_name_check(pki: ThrowawayPKI) -> None:
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        port = server.address[1]
        for host in ("localhost", "127.0.0.1"):
            with SrpcGuardClientStub(host, port, ssl=client_ssl_context(pki.ca_cert)) as c:
                assert c.echo("over tls") == "over tls"


def test_tls_async_client(pki: ThrowawayPKI) -> None:
    async def main(port: int) -> str:
        async with SrpcGuardAsyncClientStub(
            "localhost", port, ssl=client_ssl_context(pki.ca_cert)
        ) as client:
            result: str = await client.slow(0.0, "async tls")
            return result

    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        assert asyncio.run(main(server.address[1])) == "async tls"


def test_tls_client_refuses_a_server_it_cannot_verify(pki: ThrowawayPKI) -> None:
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        client = SrpcGuardClientStub(
            "127.0.0.1", server.address[1], ssl=client_ssl_context(pki.other_ca_cert)
        )
        with pytest.raises(ConnectError, match="certificate"):
            client.echo("x")


def test_plain_client_to_a_tls_server_fails_fast(pki: ThrowawayPKI) -> None:
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        client = SrpcGuardClientStub("127.0.0.1", server.address[1], connect_timeout=5)
        with pytest.raises(SrpcError):
            client.echo("x")


def test_mutual_tls(pki: ThrowawayPKI) -> None:
    context = server_ssl_context(
        pki.server_cert, pki.server_key, pki.ca_cert, require_client_cert=True
    )
    impl = CountingImpl()
    with background_server(ssl=context, impl=impl) as server:
        port = server.address[1]
        good = client_ssl_context(pki.ca_cert, pki.client_cert, pki.client_key)
        with SrpcGuardClientStub("localhost", port, ssl=good) as client:
            assert client.echo("mtls") == "mtls"
        for ssl_context in (
            client_ssl_context(pki.ca_cert),  # no certificate
            client_ssl_context(pki.ca_cert, pki.other_client_cert, pki.other_client_key),
        ):
            with pytest.raises((ConnectError, ConnectionLost)):
                SrpcGuardClientStub("localhost", port, ssl=ssl_context).echo("intruder")
        assert impl.calls == 1


# --- token -------------------------------------------------------------------------------


def test_token_required_before_any_procedure_runs(caplog: pytest.LogCaptureFixture) -> None:
    impl = CountingImpl()
    caplog.set_level(logging.INFO, logger="srpc.server")
    with background_server(token="s3cret-token", impl=impl) as server:
        port = server.address[1]
        with SrpcGuardClientStub("127.0.0.1", port, token="s3cret-token") as client:
            assert client.echo("let in") == "let in"
        for token in (None, "wrong-token", ""):
            with pytest.raises(AuthenticationFailed):
                SrpcGuardClientStub("127.0.0.1", port, token=token).echo("kept out")
        # A raw peer that skips the handshake and sends a request is cut off too.
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(encode_message(Request(1, "echo", Raw(b"\x91\xa1x"), Raw(b"\x80"))))
        assert b"x" not in recv_until_closed(sock)
        sock.close()
    assert impl.calls == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "srpc.server"]
    # Failed handshakes are logged as counts: the first one whole, the rest summarised.
    assert any("missing or wrong token" in line for line in lines), lines
    assert any("3 more failed handshakes" in line for line in lines), lines
    assert all(
        "s3cret-token" not in r.getMessage() and "wrong-token" not in r.getMessage()
        for r in caplog.records
    )


def test_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRPC_TOKEN", "env-token")
    with background_server() as server:
        port = server.address[1]
        with SrpcGuardClientStub("127.0.0.1", port) as client:  # token from the env too
            assert client.echo("env") == "env"
        monkeypatch.delenv("SRPC_TOKEN")
        with pytest.raises(AuthenticationFailed):
            SrpcGuardClientStub("127.0.0.1", port).echo("no token")


# --- limits ------------------------------------------------------------------------------


def test_connections_over_the_limit_are_refused_with_a_reason() -> None:
    with background_server(max_connections=2) as server:
        port = server.address[1]
        first = SrpcGuardClientStub("127.0.0.1", port)
        second = SrpcGuardClientStub("127.0.0.1", port)
        assert first.echo("1") == "1" and second.echo("2") == "2"
        with pytest.raises(TooManyConnections, match="limit of 2"):
            SrpcGuardClientStub("127.0.0.1", port, connect_timeout=5).echo("3")
        first.close()
        assert wait_until(lambda: connection_count(server) == 1)
        with SrpcGuardClientStub("127.0.0.1", port) as third:
            assert third.echo("3") == "3"
        second.close()


def test_an_oversized_frame_closes_only_that_connection() -> None:
    with background_server(max_frame=4096) as server:
        port = server.address[1]
        with SrpcGuardClientStub("127.0.0.1", port) as client:
            with pytest.raises(ProtocolError, match="limit"):
                client.echo("x" * 10_000)  # refused by the client, which knows the limit
            assert client.echo("still fine") == "still fine"
            sock = raw_connect(port, handshake=True)
            sock.sendall((2**31).to_bytes(4, "big") + b"\x00" * 16)  # claims 2 GiB
            assert recv_until_closed(sock) == b""
            sock.close()
            assert client.echo("unaffected") == "unaffected"
            assert wait_until(lambda: connection_count(server) == 1)


def test_handshake_timeout_closes_silent_peers() -> None:
    with background_server(handshake_timeout=0.3) as server:
        sock = socket.create_connection(server.address)
        sock.sendall(b"\x00\x00")  # half a frame header, then nothing
        assert recv_until_closed(sock) == b""
        sock.close()
        assert wait_until(lambda: connection_count(server) == 0)


def test_idle_timeout_closes_idle_connections_and_clients_reconnect() -> None:
    with background_server(idle_timeout=0.3) as server:
        port = server.address[1]
        sock = raw_connect(port, handshake=True)
        assert recv_until_closed(sock) == b""
        sock.close()
        with SrpcGuardClientStub("127.0.0.1", port) as client:
            assert client.echo("a") == "a"
            assert wait_until(lambda: connection_count(server) == 0)
            assert client.echo("b") == "b"  # the next call reconnects
            assert client.slow(0.6, "c") == "c"  # a call in flight is not idle


def test_calls_in_flight_per_connection_pause_reading() -> None:
    limit = 4
    with background_server(max_in_flight=limit) as server:
        sock = raw_connect(server.address[1], handshake=True)
        total = 40
        stop = threading.Event()
        peak = [0]

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], calls_in_flight(server))
                stop.wait(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        sock.sendall(
            b"".join(
                bytes(encode_request(encoder, i, "slow", (0.02, str(i)), {})) for i in range(total)
            )
        )
        reader = MessageReader()
        replies: list[Reply] = []
        sock.settimeout(30)
        while len(replies) < total:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            replies += [m for m, _ in reader.feed(data) if isinstance(m, Reply)]
        stop.set()
        watcher.join()
        sock.close()
        assert sorted(r.id for r in replies) == list(range(total))
        assert 1 <= peak[0] <= limit


def test_handshake_timeout_covers_the_tls_handshake(pki: ThrowawayPKI) -> None:
    context = server_ssl_context(pki.server_cert, pki.server_key)
    with background_server(ssl=context, handshake_timeout=0.3) as server:
        sock = socket.create_connection(server.address)  # TCP only: no TLS ClientHello
        assert recv_until_closed(sock, timeout=10) == b""  # closed, not left for a minute
        sock.close()


def test_async_clients_get_the_same_refusals() -> None:
    async def call(port: int, token: str | None) -> str:
        async with SrpcGuardAsyncClientStub("127.0.0.1", port, token=token) as client:
            result: str = await client.echo("async")
            return result

    with background_server(token="s3cret-token", max_connections=1) as server:
        port = server.address[1]
        assert asyncio.run(call(port, "s3cret-token")) == "async"
        assert wait_until(lambda: connection_count(server) == 0)
        with pytest.raises(AuthenticationFailed):
            asyncio.run(call(port, "wrong-token"))
        assert wait_until(lambda: connection_count(server) == 0)
        with SrpcGuardClientStub("127.0.0.1", port, token="s3cret-token") as holder:
            assert holder.echo("holds the only slot") == "holds the only slot"
            with pytest.raises(TooManyConnections):
                asyncio.run(call(port, "s3cret-token"))


def test_tls_sync_stub_shared_by_threads(pki: ThrowawayPKI) -> None:
    """Many threads on one TLS connection: one reads replies while others send."""
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        port = server.address[1]
        with SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert)) as c:

            def worker(n: int) -> list[str]:
                return [c.echo(f"{n}-{i}-" + "x" * (i * 97 % 5000)) for i in range(300)]

            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(worker, range(8)))
    for n, replies in enumerate(results):
        assert replies == [f"{n}-{i}-" + "x" * (i * 97 % 5000) for i in range(300)]


def test_tls_sync_stub_big_payloads_both_ways_from_threads(pki: ThrowawayPKI) -> None:
    """Requests and replies of many TLS records each: sends and reads of one SSL object from
    different threads overlap, and every OpenSSL call must still be one thread's at a time."""
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        port = server.address[1]
        with SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert)) as c:

            def worker(n: int) -> bool:
                return all(
                    c.echo(v) == v
                    for v in (f"{n}-{i}-" + "y" * (40_000 * (i % 8)) for i in range(40))
                )

            with ThreadPoolExecutor(6) as pool:
                assert all(pool.map(worker, range(6)))


def test_tls_reader_waiting_does_not_stall_senders(pki: ThrowawayPKI) -> None:
    """A thread waiting for a slow reply reads the TLS socket; others still send and get
    answers meanwhile (the reader waits with no lock held)."""
    with background_server(ssl=server_ssl_context(pki.server_cert, pki.server_key)) as server:
        port = server.address[1]
        with SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert)) as c:
            assert c.echo("connect") == "connect"
            with ThreadPoolExecutor(1) as pool:
                slow = pool.submit(c.slow, 1.0, "slow")
                connection = c._srpc_shared.connection
                assert connection is not None
                while not connection.reading:
                    time.sleep(0.005)
                big = "z" * 300_000
                assert c.with_timeout(5).echo(big) == big  # a send with a deadline, over TLS
                assert not slow.done()
                assert slow.result(timeout=10) == "slow"


def test_connections_in_the_tls_handshake_have_their_own_slots(pki: ThrowawayPKI) -> None:
    """Peers stalled before TLS hold handshake slots (``max_handshaking``), never the
    established ones: a new client evicts the oldest stalled handshake and gets in."""
    context = server_ssl_context(pki.server_cert, pki.server_key)
    with background_server(
        ssl=context, max_connections=2, max_handshaking=2, handshake_timeout=30
    ) as server:
        address = server.address
        silent = [socket.create_connection(address) for _ in range(2)]
        try:
            time.sleep(0.2)  # let the server accept them
            with SrpcGuardClientStub(
                "localhost", address[1], ssl=client_ssl_context(pki.ca_cert)
            ) as client:
                assert client.echo("room") == "room"

            def closed() -> int:  # a peer the server closed is readable (EOF) at once
                readable, _, _ = select.select(silent, [], [], 0.2)
                return len(readable)

            assert wait_until(lambda: closed() >= 1, timeout=5)
        finally:
            for sock in silent:
                sock.close()


def test_established_connections_over_tls_are_refused_with_the_reason(
    pki: ThrowawayPKI,
) -> None:
    context = server_ssl_context(pki.server_cert, pki.server_key)
    with background_server(ssl=context, max_connections=1, handshake_timeout=30) as server:
        port = server.address[1]
        with SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert)) as one:
            assert one.echo("in") == "in"
            other = SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert))
            try:
                with pytest.raises(TooManyConnections, match="limit of 1"):  # told over TLS
                    other.echo("no room")
            finally:
                other.close()
        with SrpcGuardClientStub("localhost", port, ssl=client_ssl_context(pki.ca_cert)) as c:
            assert wait_until(lambda: _echo_or_none(c) == "room again")


def _echo_or_none(client: SrpcGuardClientStub) -> str | None:
    try:
        return client.echo("room again")
    except TooManyConnections:
        return None
