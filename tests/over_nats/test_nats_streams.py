"""Streams, cancellation, timeouts and deadlines over NATS (the streams test service)."""

from __future__ import annotations

import asyncio
import gc
import queue
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from streamsvc.streamsvc import Streamsvc

import srpc
from srpc.protocol import STREAM_WINDOW_ITEMS
from tests.runtime.streams_stubs import (
    SrpcStreamsvcAsyncClientStub,
    SrpcStreamsvcClientStub,
    SrpcStreamsvcServerStub,
)

from .natsd import NatsServer


@pytest.fixture(scope="module")
def impl() -> Streamsvc:
    return Streamsvc()


@pytest.fixture(scope="module")
def server(natsd: NatsServer, impl: Streamsvc) -> Iterator[SrpcStreamsvcServerStub]:
    with SrpcStreamsvcServerStub(natsd.url, impl=impl, metrics_log=None) as running:
        yield running


@pytest.fixture
def client(natsd: NatsServer, server: SrpcStreamsvcServerStub) -> Iterator[SrpcStreamsvcClientStub]:
    with SrpcStreamsvcClientStub(natsd.url, timeout=30) as stub:
        yield stub


def test_server_streams(client: SrpcStreamsvcClientStub) -> None:
    assert list(client.count(5)) == [0, 1, 2, 3, 4]
    assert list(client.tail(3)) == [0, 1, 2]
    assert list(client.count(0)) == []
    many = list(client.count(3 * STREAM_WINDOW_ITEMS + 7))  # past the window: credit flows
    assert many == list(range(3 * STREAM_WINDOW_ITEMS + 7))


def test_client_streams(client: SrpcStreamsvcClientStub) -> None:
    assert client.total(iter(range(2000))) == sum(range(2000))
    assert client.atotal(range(1500)) == sum(range(1500))
    assert client.total([]) == 0


def test_bidirectional_streams_in_lockstep(client: SrpcStreamsvcClientStub) -> None:
    answers: queue.Queue[str] = queue.Queue()

    def lockstep() -> Iterator[str]:
        yield "a"
        for _ in range(5):
            yield answers.get(timeout=10) + "x"

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
        with pytest.raises(StopIteration):
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
                time.sleep(0.002)  # a slow consumer (items already queued come first)
    assert impl.wait_for(event), impl.events()


def test_a_unary_call_that_times_out_is_cancelled_on_the_server(
    client: SrpcStreamsvcClientStub, impl: Streamsvc
) -> None:
    started = time.monotonic()
    with pytest.raises(srpc.CallTimeout):
        client.with_timeout(0.2).wait_cancelled("sync", 10)
    assert time.monotonic() - started < 5
    assert impl.wait_for("cancelled sync")
    with pytest.raises(srpc.CallTimeout):
        client.with_timeout(0.2).await_cancelled("async", 10)
    assert impl.wait_for("cancelled async")


def test_a_call_cancelled_before_its_instance_is_known_is_still_cancelled(
    client: SrpcStreamsvcClientStub, impl: Streamsvc
) -> None:
    # 5 ms: the Cancel leaves before the instance acknowledged the call; it waits for it.
    with pytest.raises(srpc.CallTimeout):
        client.with_timeout(0.005).wait_cancelled("early", 10)
    assert impl.wait_for("cancelled early")


def test_the_deadline_travels(client: SrpcStreamsvcClientStub) -> None:
    assert client.deadline() == -1.0 or client.deadline() > 0  # the fixture's 30 s
    remaining = client.with_timeout(5).deadline()
    assert 0 < remaining <= 5.0


def test_async_stub_streams_every_way_and_cancels(
    natsd: NatsServer, server: SrpcStreamsvcServerStub, impl: Streamsvc
) -> None:
    async def gen() -> AsyncIterator[str]:
        for i in range(10):
            yield str(i)

    async def ints() -> AsyncIterator[int]:
        for i in range(300):
            yield i

    async def drain(stream: AsyncIterator[int]) -> None:
        async for _ in stream:
            await asyncio.sleep(0.001)

    async def main() -> None:
        async with SrpcStreamsvcAsyncClientStub(natsd.url, timeout=60) as stub:
            assert [x async for x in stub.count(5)] == list(range(5))
            assert [x async for x in stub.tail(4)] == list(range(4))
            assert await stub.total(range(1000)) == sum(range(1000))
            assert await stub.atotal(ints()) == sum(range(300))
            assert [x async for x in stub.echo(gen())] == [str(i) for i in range(10)]
            with pytest.raises(ValueError, match="failed after 2"):
                [x async for x in stub.fail_after(2)]

            async def one(i: int) -> list[int]:
                return [x async for x in stub.count(i % 7 + 1)]

            results = await asyncio.gather(*(one(i) for i in range(200)))
            assert results == [list(range(i % 7 + 1)) for i in range(200)]

            task = asyncio.create_task(stub.await_cancelled("task", 10))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.to_thread(impl.wait_for, "cancelled task")
            stream_task = asyncio.create_task(drain(stub.aforever("atask")))
            await asyncio.sleep(0.2)
            stream_task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stream_task
            assert await asyncio.to_thread(impl.wait_for, "aclosed atask")
            assert await stub.deadline() > 0

    asyncio.run(main())


def test_a_stream_nobody_reads_stops_at_the_window(client: SrpcStreamsvcClientStub) -> None:
    unread = client.forever("unread")
    assert next(unread) == 0
    for _ in range(20):  # other calls go on meanwhile
        assert client.events() is not None
    time.sleep(0.3)
    assert len(unread._slot.messages) <= STREAM_WINDOW_ITEMS
    unread.close()
