"""The ``who`` question for a call no instance acknowledged: "wait" only from an instance that
really holds the call unread, and a client whose patience such answers extend only so far."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

import srpc
from srpc.nats import client as nats_client
from srpc.nats.wire import WAIT, Subjects
from srpc.protocol import PROTOCOL_VERSION, Hello, Message, Welcome, encode_payload
from tests.runtime.stubs import CALC_SERVICE, SrpcCalcClientStub, SrpcCalcServerStub

from .natsd import NatsServer, nats_server

_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)


@pytest.fixture
def lonely() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server


INBOX = "_INBOX.srpc-who-test"


def _ask(url: str, ids: list[int], wait: float) -> list[tuple[bytes, str]]:
    """Publish a ``who`` for ``ids`` from ``INBOX``, as a client would; the answers that
    come within ``wait``."""
    import nats

    subjects = Subjects(CALC_SERVICE.name, CALC_SERVICE.fingerprint)

    async def ask() -> list[tuple[bytes, str]]:
        nc = await nats.connect(url)
        sub = await nc.subscribe(f"{INBOX}.>")
        await nc.publish(subjects.who, msgspec.msgpack.encode(ids), reply=INBOX)
        got = []
        try:
            while True:
                msg = await sub.next_msg(timeout=wait)
                got.append((msg.data, msg.subject))
        except nats.errors.TimeoutError:
            pass
        finally:
            await nc.close()
        return got

    return asyncio.run(ask())


def test_wait_only_for_a_call_among_the_instances_unread_requests(lonely: NatsServer) -> None:
    with SrpcCalcServerStub(lonely.url, metrics_log=None) as server:
        instance = next(c for c in server._core.connections if hasattr(c, "instance_id"))
        real = instance.service_subscription
        # As if nats-py held call 41 of INBOX unread, in its pending queue.
        pending = deque([SimpleNamespace(reply=f"{INBOX}.41")])
        instance.service_subscription = SimpleNamespace(
            pending_msgs=len(pending), _pending_queue=SimpleNamespace(_queue=pending)
        )
        try:
            got = _ask(lonely.url, [41, 42], wait=0.5)
        finally:
            instance.service_subscription = real
    assert got == [(WAIT, f"{INBOX}.41")]  # 42 is not among them: no word about it


def test_a_client_told_to_wait_for_ever_gives_up_within_a_few_seconds(
    lonely: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An impostor in the queue group takes the call and never answers; it answers every
    # ``who`` with "wait". The call must still end with ConnectionLost, far before its
    # timeout: the waits extend the client's patience by WAIT_AT_MOST in all.
    import nats

    subjects = Subjects(CALC_SERVICE.name, CALC_SERVICE.fingerprint)
    stop: list[asyncio.Event] = []

    async def impostor() -> None:
        nc = await nats.connect(lonely.url)

        async def swallow(msg: Any) -> None:  # welcomes a Hello, then takes every call
            hello = _decoder.decode(msg.data)
            if isinstance(hello, Hello):
                welcome = Welcome(PROTOCOL_VERSION, hello.service, hello.fingerprint, 1 << 20, 8)
                await nc.publish(msg.reply, encode_payload(welcome))

        async def wait(msg: Any) -> None:
            for id in msgspec.msgpack.decode(msg.data):
                await nc.publish(f"{msg.reply}.{id}", WAIT)

        await nc.subscribe(subjects.service, queue=subjects.service, cb=swallow)
        await nc.subscribe(subjects.who, cb=wait)
        await nc.flush()
        done = asyncio.Event()
        stop.append(done)
        await done.wait()
        await nc.close()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(impostor(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not stop and time.monotonic() < deadline:
            time.sleep(0.01)
        with SrpcCalcClientStub(lonely.url, timeout=30) as calc:
            begun = time.monotonic()
            with pytest.raises(srpc.ConnectionLost, match="no instance of service"):
                calc.add(1, 2)
            took = time.monotonic() - begun
        limit = nats_client.ASK_AFTER + nats_client.WAIT_AT_MOST + nats_client.LOST_AFTER
        assert took < limit + 2.0  # generous for a loaded machine; the timeout is 30 s
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
