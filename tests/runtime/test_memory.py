"""Generated stubs against a server stub through the in-memory transport: no socket at all."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import srpc
from srpc import memory

from .stubs import (
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)

_names = itertools.count()


@pytest.fixture
def url() -> Iterator[str]:
    name = f"memory://kitchen-{next(_names)}"
    with SrpcKitchenServerStub(name, metrics_log=None):
        yield name


def test_sync_calls_errors_and_large_values(url: str) -> None:
    with SrpcKitchenClientStub(url, timeout=30) as kitchen:
        assert kitchen.defaults(1, c=5) == 16
        with pytest.raises(ZeroDivisionError):
            kitchen.raise_error("zero")
        with pytest.raises(srpc.InvalidArguments):
            kitchen.echo_int("x")  # type: ignore[arg-type]
        blob = bytes(range(256)) * (32 * 1024)  # 8 MiB each way: past the high-water mark
        assert kitchen.blob(blob) == blob[::-1]
        assert repr(kitchen) == f"<SrpcKitchenClientStub {url}>"


def test_threads_share_one_in_memory_connection(url: str) -> None:
    with SrpcKitchenClientStub(url, timeout=30) as kitchen:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(kitchen.echo_int, range(400)))
        assert results == list(range(400))
        assert kitchen.with_timeout(0.2).sleep(0.0) == 0.0
        with pytest.raises(srpc.CallTimeout, match=r"kitchen.sleep\(\) timed out after 0.2 s"):
            kitchen.with_timeout(0.2).sleep(2.0)


def test_async_stub_over_memory(url: str) -> None:
    async def main() -> list[int]:
        async with SrpcKitchenAsyncClientStub(url, timeout=30) as kitchen:
            with pytest.raises(ZeroDivisionError):
                await kitchen.raise_error("zero")
            blob = b"x" * (6 << 20)
            assert await kitchen.blob(blob) == blob
            return list(await asyncio.gather(*(kitchen.echo_int(i) for i in range(300))))

    assert asyncio.run(main()) == list(range(300))


def test_no_server_at_that_name_is_a_connect_error() -> None:
    with pytest.raises(srpc.ConnectError, match="memory://nobody"):
        SrpcKitchenClientStub("memory://nobody").echo_int(1)

    async def main() -> None:
        await SrpcKitchenAsyncClientStub("memory://nobody").echo_int(1)

    with pytest.raises(srpc.ConnectError, match="memory://nobody"):
        asyncio.run(main())
    with pytest.raises(ValueError, match="memory://NAME"):
        SrpcKitchenClientStub("memory://a/b")


def test_a_stopped_server_fails_calls_in_flight_and_refuses_new_ones() -> None:
    url = f"memory://kitchen-{next(_names)}"
    server = SrpcKitchenServerStub(url, metrics_log=None, grace_period=0.2).start_in_background()
    kitchen = SrpcKitchenClientStub(url, timeout=30)
    assert kitchen.echo_int(1) == 1
    outcome: list[BaseException] = []

    def slow() -> None:
        try:
            kitchen.sleep(5.0)
        except BaseException as exc:  # recorded for the assertion below
            outcome.append(exc)

    caller = threading.Thread(target=slow)
    caller.start()
    server.stop()
    caller.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], srpc.ConnectionLost)
    with pytest.raises(srpc.ConnectError):
        kitchen.echo_int(2)


def test_one_name_is_served_once() -> None:
    url = f"memory://kitchen-{next(_names)}"
    with SrpcKitchenServerStub(url, metrics_log=None), pytest.raises(OSError, match="already"):
        SrpcKitchenServerStub(url, metrics_log=None).start_in_background()
    assert memory.name_of(url) == url.split("//")[1]
