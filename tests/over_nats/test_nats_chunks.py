"""Values over the NATS server's ``max_payload`` travel in chunks, both ways."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.runtime.streams_stubs import SrpcStreamsvcClientStub, SrpcStreamsvcServerStub
from tests.runtime.stubs import (
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)

from .natsd import NatsServer, nats_server

FOUR_MIB = 4 * 1024 * 1024


@pytest.fixture(scope="module", params=["default", "64KiB"])
def small_payload(request: pytest.FixtureRequest) -> Iterator[NatsServer]:
    """The default max_payload (1 MiB), and a small one: many chunks per value."""
    config = "" if request.param == "default" else "max_payload: 65536"
    with nats_server(config=config) as server:
        yield server


def test_4_mib_values_both_ways_with_both_stubs(small_payload: NatsServer) -> None:
    url = small_payload.url
    data = os.urandom(FOUR_MIB)
    with (
        SrpcKitchenServerStub(url, metrics_log=None),
        SrpcKitchenClientStub(url, timeout=30) as kitchen,
    ):
        assert kitchen.blob(data) == data[::-1]
        assert kitchen.echo_str("small after large") == "small after large"
        assert kitchen.echo_bytes(data[:100]) == data[:100]

        async def main() -> list[bytes]:
            async with SrpcKitchenAsyncClientStub(url, timeout=30) as akitchen:
                return list(await asyncio.gather(*(akitchen.blob(data) for _ in range(3))))

        assert asyncio.run(main()) == [data[::-1]] * 3


def test_large_stream_items_both_ways(small_payload: NatsServer) -> None:
    url = small_payload.url
    items = [str(i) * (700_000 + i) for i in range(4)]  # each over 64 KiB, some over 1 MiB
    with (
        SrpcStreamsvcServerStub(url, metrics_log=None),
        SrpcStreamsvcClientStub(url, timeout=30) as client,
    ):
        assert list(client.echo(iter(items))) == [item.upper() for item in items]
