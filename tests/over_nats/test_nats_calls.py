"""SPEC section 2 over NATS: the generated stubs, sync and async, with no server address."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import srpc
from tests.runtime.stubs import (
    SrpcCalcAsyncClientStub,
    SrpcCalcClientStub,
    SrpcCalcServerStub,
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)

from .natsd import NatsServer

pytestmark = pytest.mark.usefixtures("nats_calc", "nats_kitchen")


def test_sync_stub_calls_add_sub_mult_div(natsd: NatsServer) -> None:
    with SrpcCalcClientStub(natsd.url, timeout=10) as calc:
        assert calc.add(4, 2) == 6
        assert calc.mult(4, 2) == 8
        assert calc.sub(4, 2) == 2
        result = calc.div(4, 2)
        assert result == 2.0
        assert type(result) is float
        with pytest.raises(ZeroDivisionError) as info:
            calc.div(1, 0)
        assert info.value.args == ("division by zero",)
        assert calc.add(1, 1) == 2


def test_async_stub_calls_add_sub_mult_div(natsd: NatsServer) -> None:
    async def main() -> list[Any]:
        async with SrpcCalcAsyncClientStub(natsd.url, timeout=10) as calc:
            results: list[Any] = [
                await calc.add(4, 2),
                await calc.mult(4, 2),
                await calc.sub(4, 2),
                await calc.div(4, 2),
            ]
            with pytest.raises(ZeroDivisionError):
                await calc.div(1, 0)
            results.append(await asyncio.gather(*(calc.add(i, i) for i in range(50))))
            return results

    assert asyncio.run(main()) == [6, 8, 2, 2.0, [2 * i for i in range(50)]]


def test_repr_and_the_start_line_name_the_nats_address(
    natsd: NatsServer, nats_calc: SrpcCalcServerStub
) -> None:
    with SrpcCalcClientStub(natsd.url) as calc:
        assert natsd.url in repr(calc)
    line = nats_calc._start_line()
    assert f"on {natsd.url};" in line
    assert nats_calc._metrics.instance in line
    assert nats_calc.address == (natsd.url, 0)


def test_bad_arguments_are_invalid_arguments(natsd: NatsServer) -> None:
    with SrpcKitchenClientStub(natsd.url, timeout=10) as kitchen:
        with pytest.raises(srpc.InvalidArguments, match="missing a required argument"):
            kitchen._srpc_call("defaults", (), {})
        with pytest.raises(srpc.InvalidArguments, match="'c'"):
            kitchen._srpc_call("params", (1, "b"), {})
        assert kitchen.defaults(1) == 111


def test_exceptions_cross_as_over_tcp(natsd: NatsServer) -> None:
    with SrpcKitchenClientStub(natsd.url, timeout=10) as kitchen:
        with pytest.raises(KeyError):
            kitchen.raise_error("key")
        with pytest.raises(srpc.RemoteError) as info:
            kitchen.raise_error("private")
        assert info.value.remote_type.endswith("PrivateError")
        assert "raise_error" in info.value.remote_traceback
        with pytest.raises(srpc.RemoteError):
            kitchen.raise_error("systemexit")
        assert kitchen.echo_str("still serving") == "still serving"


def test_async_implementations_and_bytes(natsd: NatsServer) -> None:
    async def main() -> tuple[int, bytes]:
        async with SrpcKitchenAsyncClientStub(natsd.url, timeout=10) as kitchen:
            return await kitchen.async_add(2, 3), await kitchen.blob(b"abc")

    assert asyncio.run(main()) == (5, b"cba")


def test_calls_run_concurrently_on_one_instance(natsd: NatsServer) -> None:
    async def main() -> float:
        async with SrpcKitchenAsyncClientStub(natsd.url, timeout=10) as kitchen:
            loop = asyncio.get_running_loop()
            start = loop.time()
            await asyncio.gather(*(kitchen.async_sleep(0.3, str(i)) for i in range(10)))
            return loop.time() - start

    # One at a time would take 3 s.
    assert asyncio.run(main()) < 2.0


def test_the_metrics_log_names_the_instance(natsd: NatsServer, tmp_path: Any) -> None:
    import json

    log = tmp_path / "metrics.log"
    with SrpcCalcServerStub(natsd.url, metrics_log=log) as server:
        instance = server._metrics.instance
        # The queue group may pick the module's other instance: call until this one served.
        with SrpcCalcClientStub(natsd.url, timeout=10) as calc:
            for i in range(40):
                assert calc.add(i, 1) == i + 1
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    calls = [line for line in lines if line.get("proc") == "add"]
    assert calls, lines
    assert all(line["instance"] == instance for line in calls)
    assert all(line["peer"].startswith("_INBOX.") for line in calls)


def test_max_in_flight_bounds_one_clients_calls_on_an_instance(tmp_path: Any) -> None:
    from .natsd import nats_server

    with (
        nats_server() as natsd,
        SrpcKitchenServerStub(natsd.url, metrics_log=None, max_in_flight=2),
    ):

        async def main() -> tuple[list[str], float]:
            async with SrpcKitchenAsyncClientStub(natsd.url, timeout=10) as kitchen:
                loop = asyncio.get_running_loop()
                start = loop.time()
                values = await asyncio.gather(*(kitchen.async_sleep(0.3, str(i)) for i in range(6)))
                return values, loop.time() - start

        values, took = asyncio.run(main())
    assert values == [str(i) for i in range(6)]
    assert took >= 0.85  # three rounds of two: the rest waited in the backlog


def test_a_clients_backlog_on_an_instance_is_bounded() -> None:
    from .natsd import nats_server

    with (
        nats_server() as natsd,
        SrpcKitchenServerStub(natsd.url, metrics_log=None, max_in_flight=1),
    ):

        async def main() -> list[Any]:
            async with SrpcKitchenAsyncClientStub(natsd.url, timeout=10) as kitchen:
                return await asyncio.gather(
                    *(kitchen.async_sleep(0.1, str(i)) for i in range(12)),
                    return_exceptions=True,
                )

        results = asyncio.run(main())
    refused = [r for r in results if isinstance(r, srpc.ConnectError)]
    assert len(refused) == 3, results  # 1 running + 8 (8 x max_in_flight) waiting
    assert "try again later" in str(refused[0])
    assert len([r for r in results if isinstance(r, str)]) == 9


def test_one_sync_stub_shared_by_threads(natsd: NatsServer) -> None:
    import threading

    failures: list[BaseException] = []
    with SrpcKitchenClientStub(natsd.url, timeout=10) as kitchen:

        def work(n: int) -> None:
            try:
                for i in range(50):
                    assert kitchen.echo_str(f"{n}-{i}") == f"{n}-{i}"
                assert kitchen.sleep(0.05) == 0.05
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert not failures, failures
