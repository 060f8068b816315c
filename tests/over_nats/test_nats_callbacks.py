"""Callbacks (SPEC 12a) over NATS: the transport carries tags 10-12 like any in-call message."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from tests.runtime.callbacks_stubs import (
    Echo,
    Recorder,
    SrpcCbsvcAsyncClientStub,
    SrpcCbsvcClientStub,
    SrpcCbsvcServerStub,
)

from .natsd import NatsServer


@pytest.fixture(scope="module")
def server(natsd: NatsServer) -> Iterator[SrpcCbsvcServerStub]:
    with SrpcCbsvcServerStub(natsd.url, metrics_log=None, max_workers=4) as server:
        yield server


def test_callbacks_with_the_sync_stub(natsd: NatsServer, server: SrpcCbsvcServerStub) -> None:
    with SrpcCbsvcClientStub(natsd.url, timeout=30) as client:
        progress = Recorder()
        assert client.run(50, progress) == 50
        assert progress.seen == [(step, 50) for step in range(1, 51)]
        assert client.run(10, Recorder(stop_after=3)) == 3
        assert client.each([1, 2, 3], lambda x: x * 10) == [10, 20, 30]
        assert client.arun(3, Echo()) == ["step 1", "step 2", "step 3"]
        assert client.fan(8, lambda x: x + 1) == [x + 1 for x in range(8)]


def test_callbacks_with_the_async_stub(natsd: NatsServer, server: SrpcCbsvcServerStub) -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        async with SrpcCbsvcAsyncClientStub(natsd.url, timeout=30) as client:
            progress = Recorder()
            assert await client.run(20, progress) == 20
            assert progress.seen == [(step, 20) for step in range(1, 21)]
            on_loop: list[bool] = []

            async def negate(x: int) -> int:
                on_loop.append(threading.get_ident() == loop_thread)
                return -x

            assert await client.amap([1, 2, 3], negate) == [-1, -2, -3]
            assert on_loop == [True, True, True]
            results = await asyncio.gather(*(client.each([i], lambda x: x * 2) for i in range(20)))
            assert results == [[2 * i] for i in range(20)]

    asyncio.run(main())
