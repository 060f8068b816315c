"""``srpc describe/call/ping`` over NATS: a client without a stub at nats://host:port/SERVICE."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import srpc
from srpc.dynamic import DynamicClient, RemoteCallFailed
from tests.runtime.streams_stubs import SrpcStreamsvcServerStub
from tests.runtime.stubs import CALC_SERVICE, SrpcCalcServerStub

from .natsd import NatsServer


@pytest.fixture(scope="module")
def served(natsd: NatsServer) -> Iterator[None]:
    with (
        SrpcCalcServerStub(natsd.url, metrics_log=None),
        SrpcStreamsvcServerStub(natsd.url, metrics_log=None),
    ):
        yield


@pytest.mark.usefixtures("served")
def test_describe_call_and_ping_without_a_stub(natsd: NatsServer) -> None:
    with DynamicClient(f"{natsd.url}/calc", timeout=10) as client:
        description = client.describe()
        assert client.service == "calc"
        assert client.fingerprint == CALC_SERVICE.fingerprint
        assert [p["name"] for p in description["procedures"]] == list(CALC_SERVICE.procedures)
        assert client.call("add", [1, 2], {}) == 3
        with pytest.raises(RemoteCallFailed, match="ZeroDivisionError"):
            client.call("div", [1, 0], {})
        assert client.ping() > 0
    items: list[int] = []
    with DynamicClient(f"{natsd.url}/streamsvc", timeout=10) as client:
        assert client.call("count", [3], {}, on_item=items.append) is None
    assert items == [0, 1, 2]


@pytest.mark.usefixtures("served")
def test_targets_without_a_service_or_served_by_nobody(natsd: NatsServer) -> None:
    with pytest.raises(srpc.InvalidAddress, match="SERVICE"):
        DynamicClient(natsd.url)
    with (
        DynamicClient(f"{natsd.url}/nobody", connect_timeout=2) as client,
        pytest.raises(srpc.ConnectError, match="'nobody'"),
    ):
        client.connect()
    with (
        DynamicClient(f"{natsd.url}/calc/ffff", connect_timeout=2) as client,
        pytest.raises(srpc.ConnectError, match="fingerprint ffff"),
    ):
        client.connect()
    prefix = CALC_SERVICE.fingerprint[:8]
    with DynamicClient(f"{natsd.url}/calc/{prefix}", timeout=10) as client:
        assert client.call("mult", [3, 4], {}) == 12
