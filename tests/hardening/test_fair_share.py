"""Issue 11's connection guards, one at a time, over real sockets.

Attackers connect from 127.0.0.2 and up, the well-behaved client from
127.0.0.1 (all of 127.0.0.0/8 is loopback on Linux), so per-peer limits can
be seen. The attack suite (``tests/hardening/attack``) runs them at scale.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from srpc import TooManyConnections
from srpc.codec import encoder
from srpc.protocol import (
    PROTOCOL_VERSION,
    Hello,
    MessageReader,
    Refuse,
    RefuseCode,
    Welcome,
    encode_message,
    encode_request,
)
from srpc.security import Limits

from .attack.stubs import SERVICE as TARGET
from .attack.stubs import SrpcTargetClientStub, SrpcTargetServerStub
from .helpers import background_server, recv_until_closed, wait_until
from .stubs import SERVICE, SrpcGuardClientStub, SrpcGuardServerStub


def _from(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _hello(token: str | None = None, service: Any = SERVICE) -> bytes:
    return bytes(encode_message(Hello(PROTOCOL_VERSION, service.name, service.fingerprint, token)))


def _answer(sock: socket.socket) -> object:
    reader = MessageReader()
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not data:
            return None
        messages = reader.feed(data)
        if messages:
            return messages[0][0]


@contextmanager
def _target_server(**kwargs: Any) -> Iterator[SrpcTargetServerStub]:
    server = SrpcTargetServerStub("127.0.0.1", 0, metrics_log=None, **kwargs)
    with server:
        yield server


def test_connections_per_peer_address_are_capped() -> None:
    with background_server(max_connections_per_peer=2) as server:
        port = server.address[1]
        held = [_from("127.0.0.2", port) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(_hello())
                assert isinstance(_answer(sock), Welcome)
            third = _from("127.0.0.2", port)
            held.append(third)
            refusal = _answer(third)
            assert isinstance(refusal, Refuse)
            assert refusal.code == RefuseCode.TOO_MANY_CONNECTIONS
            assert "per peer address" in refusal.message
            with SrpcGuardClientStub(port=port) as client:  # another address: served
                assert client.echo("mine") == "mine"
            held.pop(0).close()  # a slot given back is free again

            def welcomed() -> bool:
                sock = _from("127.0.0.2", port)
                held.append(sock)
                sock.sendall(_hello())
                return isinstance(_answer(sock), Welcome)

            assert wait_until(welcomed, timeout=5, step=0.05)
        finally:
            for sock in held:
                sock.close()


def test_a_begun_frame_must_finish_at_the_minimum_rate() -> None:
    with background_server(frame_grace=0.3, min_frame_rate=1000) as server:
        port = server.address[1]
        sock = _from("127.0.0.2", port)
        try:
            sock.sendall(_hello())
            assert isinstance(_answer(sock), Welcome)
            sock.sendall(b"\x00\x00\x10\x00\x95")  # a 4 KiB frame begins, then nothing
            assert recv_until_closed(sock, timeout=10) == b""  # closed by the server
            with SrpcGuardClientStub(port=port) as client:
                assert client.echo("still serving") == "still serving"
        finally:
            sock.close()


def test_failed_handshakes_are_rate_limited_per_peer() -> None:
    with background_server(
        token="right", failed_handshake_rate=0.01, failed_handshake_burst=2
    ) as server:
        port = server.address[1]
        answers = []
        for _ in range(5):
            with _from("127.0.0.3", port) as sock:
                sock.sendall(_hello("wrong"))
                answers.append(type(_answer(sock)).__name__)
        # The burst is refused with the reason; past it the peer is closed unheard.
        assert answers[:2] == ["Refuse", "Refuse"]
        assert answers[2:] == ["NoneType"] * 3
        with SrpcGuardClientStub(port=port, token="right") as client:  # another peer: fine
            assert client.echo("in") == "in"


def test_handshake_slots_are_apart_from_established_connections() -> None:
    with background_server(max_connections=2, max_handshaking=4) as server:
        port = server.address[1]
        with SrpcGuardClientStub(port=port) as client:
            assert client.echo("in") == "in"
            silent = [_from(f"127.0.1.{i + 2}", port) for i in range(12)]  # never say Hello
            try:
                assert wait_until(lambda: server.connection_count <= 1 + 4)
                assert client.echo("still in") == "still in"  # its slot was never at stake
                with SrpcGuardClientStub(port=port) as newcomer:  # evicts the oldest silent
                    assert newcomer.echo("new") == "new"
                    third = SrpcGuardClientStub(port=port)
                    try:
                        with pytest.raises(TooManyConnections, match="limit of 2"):
                            third.echo("no room")
                    finally:
                        third.close()
            finally:
                for sock in silent:
                    sock.close()


def test_blocked_calls_on_one_connection_leave_threads_for_the_others() -> None:
    # Two worker threads: one connection may hold one of them (half the pool).
    with _target_server(max_workers=2, grace_period=0.5) as server:
        port = server.address[1]
        attacker = _from("127.0.0.2", port)
        try:
            attacker.sendall(_hello(service=TARGET))
            assert isinstance(_answer(attacker), Welcome)
            attacker.sendall(b"".join(bytes(encode_request(encoder, i, "hold", (5.0,), {}))
                                      for i in range(4)))
            time.sleep(0.2)
            with SrpcTargetClientStub(port=port, timeout=4) as client:
                for _ in range(3):
                    assert client.add(1, 2) == 3
        finally:
            attacker.close()


def test_the_new_limits_are_validated() -> None:
    for name in ("max_connections_per_peer", "max_handshaking", "max_pending_bytes",
                 "max_unsent_bytes", "dispatch_budget"):
        with pytest.raises(ValueError, match=name):
            Limits(**{name: 0})
    for name in ("frame_grace", "min_frame_rate", "failed_handshake_rate"):
        with pytest.raises(ValueError, match=name):
            Limits(**{name: 0})
    with pytest.raises(ValueError, match="failed_handshake_burst"):
        Limits(failed_handshake_burst=0.5)
    with pytest.raises(ValueError, match="max_workers_per_connection"):
        SrpcGuardServerStub("127.0.0.1", 0, metrics_log=None, max_workers_per_connection=0)


def test_a_connection_whose_answers_pile_up_unsent_is_dropped() -> None:
    with _target_server(max_unsent_bytes=1024 * 1024) as server:
        port = server.address[1]
        reader = _from("127.0.0.2", port)
        try:
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            reader.sendall(_hello(service=TARGET))
            assert isinstance(_answer(reader), Welcome)
            assert wait_until(lambda: server.connection_count == 1)
            # 16 MiB of answer, never read: past the 1 MiB of unsent output allowed.
            reader.sendall(bytes(encode_request(encoder, 1, "big_reply", (16 << 20,), {})))
            assert wait_until(lambda: server.connection_count == 0)
            with SrpcTargetClientStub(port=port, timeout=5) as client:  # the others: served
                assert client.add(1, 2) == 3
        finally:
            reader.close()


def test_sync_calls_waiting_for_their_share_end_with_their_connection() -> None:
    with _target_server(max_workers=2, grace_period=0.5) as server:
        port = server.address[1]
        dispatcher = server._dispatcher
        with _from("127.0.0.2", port) as attacker:
            attacker.sendall(_hello(service=TARGET))
            assert isinstance(_answer(attacker), Welcome)
            attacker.sendall(b"".join(bytes(encode_request(encoder, i, "hold", (0.5,), {}))
                                      for i in range(6)))
            assert wait_until(lambda: len(dispatcher.calls) == 6)
            lane = next(iter(dispatcher.lanes.values()))
            assert lane.running == 1 and len(lane.waiting) == 5  # one thread of two
        # Gone: the waiting calls never run, the running one ends, nothing is left behind.
        assert wait_until(lambda: not dispatcher.calls and not dispatcher.lanes)
