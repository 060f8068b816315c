"""Streams, cancellation and deadlines through real sockets (and the in-memory transport)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamsvc.streamsvc import Streamsvc

import srpc
from srpc.protocol import STREAM_WINDOW_ITEMS

from .streams_stubs import (
    SrpcStreamsvcAsyncClientStub,
    SrpcStreamsvcClientStub,
    SrpcStreamsvcServerStub,
)

_names = itertools.count()


@pytest.fixture
def impl() -> Streamsvc:
    return Streamsvc()


@pytest.fixture(params=["tcp", "memory"])
def server(request: pytest.FixtureRequest, impl: Streamsvc) -> Iterator[SrpcStreamsvcServerStub]:
    host = "127.0.0.1" if request.param == "tcp" else f"memory://streams-{next(_names)}"
    with SrpcStreamsvcServerStub(host, 0, impl=impl, metrics_log=None) as running:
        yield running


@pytest.fixture
def client(server: SrpcStreamsvcServerStub) -> Iterator[SrpcStreamsvcClientStub]:
    with SrpcStreamsvcClientStub(*server.address, timeout=30) as stub:
        yield stub


def test_server_streams_from_sync_and_async_generators(client: SrpcStreamsvcClientStub) -> None:
    assert list(client.count(5)) == [0, 1, 2, 3, 4]
    assert list(client.tail(3)) == [0, 1, 2]
    assert list(client.count(0)) == []
    many = list(client.count(3 * STREAM_WINDOW_ITEMS + 7))  # past the window: credit flows
    assert many == list(range(3 * STREAM_WINDOW_ITEMS + 7))


def test_client_streams_to_sync_and_async_implementations(client: SrpcStreamsvcClientStub) -> None:
    assert client.total(iter(range(2000))) == sum(range(2000))
    assert client.atotal(range(1500)) == sum(range(1500))
    assert client.total([]) == 0


def test_bidirectional_streams_in_lockstep(client: SrpcStreamsvcClientStub) -> None:
    answers: queue.Queue[str] = queue.Queue()

    def lockstep() -> Iterator[str]:
        yield "a"
        for _ in range(5):
            yield answers.get(timeout=10) + "x"  # the next item needs the previous answer

    seen = []
    with client.echo(lockstep()) as echoed:
        for value in echoed:
            seen.append(value)
            answers.put(value.lower())
    assert seen == ["A", "AX", "AXX", "AXXX", "AXXXX", "AXXXXX"]


def test_an_exception_mid_stream_comes_after_the_items_before_it(
    client: SrpcStreamsvcClientStub,
) -> None:
    stream = client.fail_after(3)
    assert [next(stream), next(stream), next(stream)] == [0, 1, 2]
    with pytest.raises(ValueError, match="failed after 3"):
        next(stream)
    with pytest.raises(StopIteration):
        next(stream)


def test_an_item_of_the_wrong_type_ends_the_stream_after_the_ones_before(
    client: SrpcStreamsvcClientStub,
) -> None:
    stream = client.wrong_item()
    assert next(stream) == 1
    with pytest.raises(srpc.InvalidResult, match="wrong_item"):
        next(stream)


@pytest.mark.parametrize("proc", ["forever", "aforever"])
@pytest.mark.parametrize("how", ["with", "close", "break-and-drop", "timeout"])
def test_cancelling_a_stream_closes_the_generator_on_the_server(
    client: SrpcStreamsvcClientStub, impl: Streamsvc, proc: str, how: str
) -> None:
    tag = f"{proc}-{how}"
    event = ("closed " if proc == "forever" else "aclosed ") + tag
    if how == "with":
        with getattr(client, proc)(tag) as stream:
            assert next(stream) == 0
    elif how == "close":
        stream = getattr(client, proc)(tag)
        assert next(stream) == 0
        stream.close()
        with pytest.raises(StopIteration):  # no item arrives after the caller cancelled
            next(stream)
    elif how == "break-and-drop":
        for value in getattr(client, proc)(tag):
            if value == 3:
                break
        gc.collect()
    else:
        stream = getattr(srpc.with_timeout(client, 0.3), proc)(tag)
        with pytest.raises(srpc.CallTimeout, match=r"timed out after 0\.3 s"):
            for _ in stream:
                time.sleep(0.01)  # a slow consumer: the whole call's deadline passes
    assert impl.wait_for(event), impl.events()


def test_a_unary_call_that_times_out_is_cancelled_on_the_server(
    client: SrpcStreamsvcClientStub, impl: Streamsvc
) -> None:
    with pytest.raises(srpc.CallTimeout):
        client.with_timeout(0.2).wait_cancelled("sync", 10)
    assert impl.wait_for("cancelled sync")  # the sync implementation saw cancelled become true
    with pytest.raises(srpc.CallTimeout):
        client.with_timeout(0.2).await_cancelled("async", 10)
    assert impl.wait_for("cancelled async")  # the async one got CancelledError


def test_cancelling_the_task_cancels_the_call_on_the_server(
    server: SrpcStreamsvcServerStub, impl: Streamsvc
) -> None:
    async def main() -> None:
        async with SrpcStreamsvcAsyncClientStub(*server.address) as stub:
            task = asyncio.create_task(stub.await_cancelled("task", 10))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # Cancelled by the Cancel message, while the connection stays open.
            assert await asyncio.to_thread(impl.wait_for, "cancelled task")
            stream_task = asyncio.create_task(_drain(stub.aforever("atask")))
            await asyncio.sleep(0.2)
            stream_task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stream_task
            assert await asyncio.to_thread(impl.wait_for, "aclosed atask")
            assert await stub.deadline() == -1.0  # the connection is still good

    async def _drain(stream: srpc.client_streams.AsyncResultStream[int]) -> None:
        async for _ in stream:
            await asyncio.sleep(0.001)

    asyncio.run(main())


def test_the_deadline_travels_and_is_inherited_by_calls_from_an_implementation(
    server: SrpcStreamsvcServerStub,
) -> None:
    inner = SrpcStreamsvcClientStub(*server.address)

    class Relay(Streamsvc):
        def deadline(self) -> float:  # asks the other server what it was given
            return inner.deadline()

    with (
        SrpcStreamsvcServerStub(port=0, impl=Relay(), metrics_log=None) as relay_server,
        SrpcStreamsvcClientStub(*relay_server.address) as relay,
    ):
        assert relay.deadline() == -1.0  # no deadline anywhere
        remaining = relay.with_timeout(5).deadline()
        assert 0 < remaining <= 5.0
    inner.close()


def test_async_stub_streams_every_way_and_1000_streams_share_one_connection(
    server: SrpcStreamsvcServerStub,
) -> None:
    async def gen() -> srpc.client_streams.AsyncIterator[str]:  # type: ignore[name-defined]
        for i in range(10):
            yield str(i)

    async def main() -> None:
        async with SrpcStreamsvcAsyncClientStub(*server.address, timeout=60) as stub:
            assert [x async for x in stub.count(5)] == list(range(5))
            assert [x async for x in stub.tail(4)] == list(range(4))
            assert await stub.total(range(1000)) == sum(range(1000))
            assert await stub.atotal(gen_ints()) == sum(range(300))
            assert [x async for x in stub.echo(gen())] == [str(i) for i in range(10)]
            with pytest.raises(ValueError, match="failed after 2"):
                [x async for x in stub.fail_after(2)]

            async def one(i: int) -> list[int]:
                return [x async for x in stub.count(i % 7 + 1)]

            results = await asyncio.gather(*(one(i) for i in range(1000)))
            assert results == [list(range(i % 7 + 1)) for i in range(1000)]
            assert len(stub._srpc_shared.connection.calls) == 0  # type: ignore[union-attr]

    async def gen_ints() -> srpc.client_streams.AsyncIterator[int]:  # type: ignore[name-defined]
        for i in range(300):
            yield i

    asyncio.run(main())


def test_a_stream_nobody_reads_holds_neither_the_connection_nor_more_than_a_window(
    client: SrpcStreamsvcClientStub,
) -> None:
    produced = itertools.count()

    def source() -> Iterator[int]:
        for i in range(100_000):
            next(produced)
            yield i

    unread = client.forever("unread")
    assert next(unread) == 0
    # Other calls on the same connection go on while the stream is not read.
    for _ in range(50):
        assert client.events() is not None
    time.sleep(0.2)
    slot = unread._slot
    assert len(slot.messages) <= STREAM_WINDOW_ITEMS  # the server stopped at the window
    unread.close()
    # A caller's generator is read only as the window allows: the server reads slowly here.
    stream = client.echo(str(i) for i in source())
    assert next(stream) == "0"
    time.sleep(0.3)
    assert next(produced) <= 3 * STREAM_WINDOW_ITEMS
    stream.close()


def test_a_lost_server_ends_the_stream_with_connection_lost(impl: Streamsvc) -> None:
    server = SrpcStreamsvcServerStub(port=0, impl=impl, metrics_log=None, grace_period=0.1)
    server.start_in_background()
    client = SrpcStreamsvcClientStub(*server.address)
    stream = client.forever("lost")
    assert next(stream) == 0
    server.stop()
    with pytest.raises(srpc.ConnectionLost):
        for _ in stream:
            pass
    assert impl.wait_for("closed lost")  # cancelled at the end of the grace period
    client.close()


def test_a_lost_client_closes_the_generator_on_the_server(
    server: SrpcStreamsvcServerStub, impl: Streamsvc
) -> None:
    client = SrpcStreamsvcClientStub(*server.address)
    stream = client.forever("client-gone")
    assert next(stream) == 0
    srpc.close(client)  # the connection goes, the stream with it
    assert impl.wait_for("closed client-gone")


def test_shutdown_lets_a_stream_finish_within_the_grace_period(impl: Streamsvc) -> None:
    server = SrpcStreamsvcServerStub(port=0, impl=impl, metrics_log=None, grace_period=5)
    server.start_in_background()
    client = SrpcStreamsvcClientStub(*server.address)
    stream = client.count(20, 0.02)
    assert next(stream) == 0
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert list(stream) == list(range(1, 20))  # GoAway: calls in flight go on
    stopper.join(10)
    with pytest.raises(srpc.ConnectError):  # and no new call is taken
        list(client.count(1))
    client.close()


def test_a_stream_is_one_metrics_record_with_its_items(tmp_path: Path, impl: Streamsvc) -> None:
    log = tmp_path / "m.log"
    with (
        SrpcStreamsvcServerStub(port=0, impl=impl, metrics_log=log) as server,
        SrpcStreamsvcClientStub(*server.address) as client,
    ):
        assert list(client.count(7)) == list(range(7))
        assert client.total(range(5)) == 10
    records = [json.loads(line) for line in log.read_text().splitlines()]
    calls = {r["proc"]: r for r in records if "proc" in r}
    assert calls["count"]["items_out"] == 7 and calls["count"]["items_in"] == 0
    assert calls["total"]["items_in"] == 5 and calls["count"]["ok"] is True


class _SilentServer:
    """Welcomes a client, answers its first request with one stream item, then says nothing
    more (it keeps the connection open and reads, like a hung process)."""

    def __init__(self) -> None:
        import socket

        from srpc.protocol import MessageReader, Request, Welcome, encode_message

        from .streams_stubs import SERVICE

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        welcome = Welcome(2, SERVICE.name, SERVICE.fingerprint, 1 << 20, 8)

        def talk() -> None:
            conn, _ = self.listener.accept()
            reader = MessageReader()
            answered = False
            with conn:
                while data := conn.recv(65536):
                    for message, _ in reader.feed(data):
                        if not answered:
                            conn.sendall(encode_message(welcome))
                            answered = True
                        elif isinstance(message, Request):
                            item = srpc.codec.encoder.encode(0)
                            from srpc.protocol import encode_stream_item

                            conn.sendall(encode_stream_item(message.id, item))

        self.thread = threading.Thread(target=talk, daemon=True)
        self.thread.start()


@pytest.mark.parametrize("stub", ["sync", "async"])
def test_a_quiet_stream_pings_and_a_silent_server_is_taken_for_dead(
    monkeypatch: pytest.MonkeyPatch, stub: str
) -> None:
    monkeypatch.setattr(srpc.client_streams, "KEEPALIVE", 0.2)
    silent = _SilentServer()
    if stub == "sync":
        stream = SrpcStreamsvcClientStub("127.0.0.1", silent.port).forever("silent")
        assert next(stream) == 0
        with pytest.raises(srpc.ConnectionLost, match="not even a Pong"):
            next(stream)
    else:

        async def main() -> None:
            stub = SrpcStreamsvcAsyncClientStub("127.0.0.1", silent.port)
            stream = stub.forever("silent")
            assert await stream.__anext__() == 0
            with pytest.raises(srpc.ConnectionLost, match="not even a Pong"):
                await stream.__anext__()

        asyncio.run(main())
    silent.listener.close()


def test_a_live_server_answers_the_pings_of_a_slow_stream(
    monkeypatch: pytest.MonkeyPatch, client: SrpcStreamsvcClientStub
) -> None:
    monkeypatch.setattr(srpc.client_streams, "KEEPALIVE", 0.1)
    assert list(client.count(3, 0.5)) == [0, 1, 2]  # quiet for 5 ticks between items
