"""Callbacks (SPEC 12a) through generated stubs against a real server on 127.0.0.1.

The caller passes a local object or function; the implementation gets a
proxy whose methods call back into the caller, typed, with errors both ways.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from cbsvc.cbsvc_interface import CallbackFailed

import srpc

from .callbacks_stubs import (
    GENERATED,
    HERE,
    Echo,
    Recorder,
    SrpcCbsvcAsyncClientStub,
    SrpcCbsvcClientStub,
    SrpcCbsvcServerStub,
)


@pytest.fixture(scope="module")
def server() -> Iterator[SrpcCbsvcServerStub]:
    with SrpcCbsvcServerStub(port=0, metrics_log=None, max_workers=4) as server:
        yield server


@pytest.fixture
def client(server: SrpcCbsvcServerStub) -> Iterator[SrpcCbsvcClientStub]:
    with SrpcCbsvcClientStub(*server.address, timeout=30) as client:
        yield client


def test_updates_arrive_in_order_with_their_values(client: SrpcCbsvcClientStub) -> None:
    progress = Recorder()
    assert client.run(50, progress) == 50
    assert progress.seen == [(step, 50) for step in range(1, 51)]
    assert threading.get_ident() not in progress.threads  # run on a worker thread


def test_a_callback_answers_back(client: SrpcCbsvcClientStub) -> None:
    assert client.run(10, Recorder(stop_after=3)) == 3
    assert client.each([1, 2, 3], lambda x: x * 10) == [10, 20, 30]


def test_async_callbacks_under_the_sync_stub(client: SrpcCbsvcClientStub) -> None:
    assert client.arun(3, Echo()) == ["step 1", "step 2", "step 3"]

    async def plus(x: int) -> int:
        return x + 100

    assert client.amap([1, 2], plus) == [101, 102]


def test_the_async_stub(server: SrpcCbsvcServerStub) -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        async with SrpcCbsvcAsyncClientStub(*server.address, timeout=30) as client:
            progress = Recorder()
            assert await client.run(20, progress) == 20
            assert progress.seen == [(step, 20) for step in range(1, 21)]
            assert loop_thread not in progress.threads  # plain def: a worker thread
            assert await client.arun(2, Echo()) == ["step 1", "step 2"]
            tasks: list[bool] = []

            async def on_loop(x: int) -> int:
                tasks.append(threading.get_ident() == loop_thread)
                return -x

            assert await client.amap([1, 2, 3], on_loop) == [-1, -2, -3]
            assert tasks == [True, True, True]  # async def: a task of the caller's loop
            assert await client.each([4], lambda x: x + 1) == [5]

    asyncio.run(main())


def test_the_proxy_is_an_instance_of_the_interface(client: SrpcCbsvcClientStub) -> None:
    assert client.is_proxy(Recorder()) is True


def test_a_slow_callback_blocks_neither_other_calls_nor_other_clients(
    server: SrpcCbsvcServerStub, client: SrpcCbsvcClientStub
) -> None:
    started = threading.Event()
    others_done = threading.Event()

    def slow(x: int) -> int:
        started.set()
        # It sleeps until the other calls are answered (1 s at least): if it blocked them,
        # they would only be answered after it, and the wait below would time out.
        time.sleep(1.0)
        assert others_done.wait(20)
        return x

    results: list[list[int]] = []
    caller = threading.Thread(target=lambda: results.append(client.each([7], slow)))
    caller.start()
    assert started.wait(10)
    assert client.add(1, 2) == 3  # the same stub and connection, another thread
    with SrpcCbsvcClientStub(*server.address, timeout=30) as other:
        assert other.add(3, 4) == 7
        assert other.each([1], lambda x: x * 2) == [2]
    others_done.set()
    caller.join(30)
    assert results == [[7]]


def test_callbacks_of_one_call_run_at_once(client: SrpcCbsvcClientStub) -> None:
    together = threading.Barrier(4, timeout=20)  # broken unless all four run at once
    threads: set[int] = set()

    def meet(x: int) -> int:
        threads.add(threading.get_ident())
        together.wait()
        return x * 2

    assert client.fan(4, meet) == [0, 2, 4, 6]
    assert len(threads) == 4
    assert client.add(1, 2) == 3


def test_a_callback_may_call_the_server_again(client: SrpcCbsvcClientStub) -> None:
    assert client.each([1, 2, 3], lambda x: client.add(x, 1000)) == [1001, 1002, 1003]
    inner = client.each([1], lambda x: client.each([x, x + 1], lambda y: y * 3)[1])
    assert inner == [6]


def test_nesting_is_bounded(client: SrpcCbsvcClientStub) -> None:
    depths: list[int] = []

    def deeper(level: int) -> int:
        depths.append(level)
        return client.each([level + 1], deeper)[0]

    with pytest.raises(srpc.CallbackTooDeep, match=str(srpc.MAX_CALLBACK_DEPTH)):
        client.each([1], deeper)
    assert depths == list(range(1, srpc.MAX_CALLBACK_DEPTH + 1))
    assert client.add(1, 1) == 2  # the server and the connection are fine


def test_nesting_with_the_async_stub(server: SrpcCbsvcServerStub) -> None:
    async def main() -> list[int]:
        async with SrpcCbsvcAsyncClientStub(*server.address, timeout=30) as client:

            async def twice(x: int) -> int:
                return (await client.amap([x], lambda y: _const(y * 2)))[0]

            return await client.amap([1, 2], twice)

    assert asyncio.run(main()) == [2, 4]


async def _const(value: int) -> int:
    return value


def test_exceptions_travel_both_ways(client: SrpcCbsvcClientStub) -> None:
    def fails(x: int) -> int:
        raise CallbackFailed(f"no {x}")

    with pytest.raises(CallbackFailed, match="no 1"):
        client.guarded(fails)

    def key_error(x: int) -> int:
        raise KeyError(x)

    with pytest.raises(KeyError):
        client.guarded(key_error)
    assert client.errors()[-2:] == ["CallbackFailed", "KeyError"]


def test_arguments_and_results_are_validated(client: SrpcCbsvcClientStub) -> None:
    assert client.wrong(lambda x: x).startswith("InvalidArguments: callback 'fn' of cbsvc.wrong()")

    def bad_result(x: int) -> int:
        return "not an int"  # type: ignore[return-value]

    with pytest.raises(srpc.InvalidResult, match=r"callback 'fn' of cbsvc\.guarded\(\)"):
        client.guarded(bad_result)
    assert client.errors()[-1] == "InvalidResult"


def test_the_caller_must_pass_what_the_interface_declares(client: SrpcCbsvcClientStub) -> None:
    with pytest.raises(srpc.InvalidArguments, match="must be a callable"):
        client.each([1], 5)  # type: ignore[arg-type]
    with pytest.raises(srpc.InvalidArguments, match="has no method 'update'"):
        client.run(1, object())  # type: ignore[arg-type]


def test_a_callback_used_after_its_call_raises_a_clear_error(
    client: SrpcCbsvcClientStub,
) -> None:
    assert client.keep(lambda x: x * 5) == 5
    text = client.use_kept()
    assert text.startswith("CallbackExpired: ")
    assert "valid only while its call runs" in text


def test_a_timeout_cancels_the_call_and_its_callbacks(server: SrpcCbsvcServerStub) -> None:
    calls: list[int] = []

    def slow(x: int) -> int:
        calls.append(x)
        time.sleep(0.5)
        return x

    with SrpcCbsvcClientStub(*server.address, timeout=0.2) as client:
        with pytest.raises(srpc.CallTimeout):
            client.each([1, 2, 3], slow)
        time.sleep(0.6)
        assert calls == [1]  # the server did not go on to the second callback
        assert client.with_timeout(10).add(2, 2) == 4


def test_callbacks_over_the_in_memory_transport() -> None:
    with (
        SrpcCbsvcServerStub("memory://callbacks", metrics_log=None),
        SrpcCbsvcClientStub("memory://callbacks", timeout=30) as client,
    ):
        progress = Recorder()
        assert client.run(5, progress) == 5
        assert progress.seen == [(step, 5) for step in range(1, 6)]
        assert client.each([1, 2], lambda x: client.add(x, x)) == [2, 4]


_CLIENT = textwrap.dedent(
    """
    import os, sys
    sys.path[:0] = [{here!r}, {generated!r}]
    from srpc_cbsvc_client_stub import SrpcCbsvcClientStub

    def vanish(x: int) -> int:
        print("in callback", flush=True)
        os._exit(3)

    SrpcCbsvcClientStub({host!r}, {port}, timeout=30).guarded(vanish)
    """
)


@pytest.mark.slow
def test_a_caller_lost_during_a_callback(server: SrpcCbsvcServerStub) -> None:
    host, port = server.address
    code = _CLIENT.format(here=str(HERE), generated=str(GENERATED), host=host, port=port)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.returncode == 3, done.stderr
    assert "in callback" in done.stdout
    with SrpcCbsvcClientStub(*server.address, timeout=30) as client:
        deadline = time.monotonic() + 10
        while "ConnectionLost" not in client.errors() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "ConnectionLost" in client.errors()  # a ConnectionError in the implementation
        assert client.add(5, 5) == 10


@pytest.mark.slow
def test_a_server_lost_during_a_callback() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(HERE)!r}, {str(GENERATED)!r}]
        from srpc_cbsvc_server_stub import SrpcCbsvcServerStub
        with SrpcCbsvcServerStub(port=0, metrics_log=None) as server:
            print(server.address[1], flush=True)
            sys.stdin.read()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())

        def kill_server(x: int) -> int:
            process.kill()
            process.wait()
            return x

        with (
            SrpcCbsvcClientStub("127.0.0.1", port, timeout=30) as client,
            pytest.raises(srpc.ConnectionLost),
        ):
            client.each([1], kill_server)
    finally:
        process.kill()
        process.wait()


def test_cancelling_the_task_cancels_its_callbacks(server: SrpcCbsvcServerStub) -> None:
    async def main() -> tuple[bool, int]:
        async with SrpcCbsvcAsyncClientStub(*server.address, timeout=30) as client:
            running = asyncio.Event()
            cancelled = asyncio.Event()

            async def forever(x: int) -> int:
                running.set()
                try:
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    cancelled.set()
                    raise
                return x

            call = asyncio.ensure_future(client.amap([1], forever))
            await asyncio.wait_for(running.wait(), 10)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await asyncio.wait_for(cancelled.wait(), 10)
            return cancelled.is_set(), await client.add(20, 22)

    assert asyncio.run(main()) == (True, 42)


def test_more_calls_than_max_in_flight_all_waiting_for_callbacks() -> None:
    # Past max_in_flight, requests wait in the server's backlog; the running calls' callback
    # answers come over the same connection, so the server must go on reading meanwhile.
    async def main() -> list[list[int]]:
        async def slow(x: int) -> int:
            await asyncio.sleep(0.05)
            return x + 1

        async with SrpcCbsvcAsyncClientStub(*server.address, timeout=30) as client:
            return list(await asyncio.gather(*(client.amap([i], slow) for i in range(12))))

    with SrpcCbsvcServerStub(port=0, metrics_log=None, max_in_flight=4) as server:
        assert asyncio.run(main()) == [[i + 1] for i in range(12)]
