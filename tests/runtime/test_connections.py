"""Real sockets: concurrency, big payloads, timeouts, reconnects, shutdown, handshake refusals."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from kitchen.kitchen import Kitchen

import srpc
from srpc.descriptor import ServiceDescriptor

from .stubs import (
    KITCHEN_SERVICE,
    SrpcCalcAsyncClientStub,
    SrpcCalcClientStub,
    SrpcCalcServerStub,
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)

MIB = 1024 * 1024


def test_ten_mib_payloads_both_ways(kitchen: SrpcKitchenClientStub) -> None:
    data = os.urandom(10 * MIB)
    assert kitchen.blob(data) == data[::-1]
    assert kitchen.echo_str("x" * (10 * MIB)) == "x" * (10 * MIB)


def test_eight_threads_share_one_sync_stub(kitchen: SrpcKitchenClientStub) -> None:
    def work(n: int) -> list[int]:
        return [kitchen.defaults(n, i, c=0) for i in range(200)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[n + i for i in range(200)] for n in range(8)]


def test_threads_mix_slow_and_fast_calls_on_one_connection(kitchen: SrpcKitchenClientStub) -> None:
    with ThreadPoolExecutor(4) as pool:
        slow = pool.submit(kitchen.async_sleep, 0.3, "slow")
        fast = [pool.submit(kitchen.echo_int, i) for i in range(50)]
        assert [f.result() for f in fast] == list(range(50))
        assert not slow.done() or slow.result() == "slow"
        assert slow.result() == "slow"


def test_a_lone_caller_reading_hands_other_replies_over(kitchen: SrpcKitchenClientStub) -> None:
    # The slow call is alone on the connection, so it reads the socket itself (it took the
    # reader role before sending). The fast call's reply reaches that reader first and must be
    # handed over, not dropped; then the slow call gets its own.
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(kitchen.async_sleep, 0.5, "slow")
        connection = kitchen._srpc_shared.connection
        while connection is None or not connection.reading:
            time.sleep(0.005)
            connection = kitchen._srpc_shared.connection
        assert kitchen.with_timeout(5).echo_int(7) == 7  # a dropped reply would time out
        assert not slow.done()
        assert slow.result(timeout=10) == "slow"
    assert not connection.calls and not connection.reading
    assert kitchen.echo_int(8) == 8


def test_a_lone_caller_that_times_out_leaves_the_connection_usable(
    kitchen: SrpcKitchenClientStub,
) -> None:
    quick = kitchen.with_timeout(0.05)
    for _ in range(3):
        with pytest.raises(srpc.CallTimeout):
            quick.async_sleep(0.3, "late")
        # The late reply arrives while this call waits for its own; it is dropped.
        assert kitchen.async_sleep(0.4, "own") == "own"
    connection = kitchen._srpc_shared.connection
    assert connection is not None and not connection.calls and not connection.reading


def test_two_hundred_tasks_share_one_async_stub(
    kitchen_server: SrpcKitchenServerStub,
) -> None:
    async def main() -> None:
        async with SrpcKitchenAsyncClientStub(*kitchen_server.address) as k:
            results = await asyncio.gather(
                *(k.async_sleep(0.01 * (i % 5), str(i)) for i in range(200)),
                *(k.defaults(i) for i in range(200)),
            )
            assert results == [str(i) for i in range(200)] + [i + 110 for i in range(200)]

    asyncio.run(main())


def _event_loops() -> list[str]:
    try:
        import uvloop  # noqa: F401
    except ImportError:  # Windows: asyncio's own loop only
        return ["asyncio"]
    return ["asyncio", "uvloop"]


@pytest.mark.parametrize("loop_kind", _event_loops())
def test_async_stub_on_asyncio_and_uvloop_big_and_small(
    kitchen_server: SrpcKitchenServerStub, loop_kind: str
) -> None:
    # Reads land in the connection's reused buffer, or straight into a big frame's own buffer;
    # both loops hand the buffered protocol its reads the same way.
    data = os.urandom(10 * MIB)

    async def main() -> None:
        async with SrpcKitchenAsyncClientStub(*kitchen_server.address) as k:
            assert await k.echo_bytes(data) == data
            small = await asyncio.gather(*(k.echo_int(i) for i in range(300)))
            assert small == list(range(300))
            both = await asyncio.gather(k.echo_bytes(data), k.echo_int(7), k.echo_str("x" * MIB))
            assert both == [data, 7, "x" * MIB]

    if loop_kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
    else:
        asyncio.run(main())


def test_async_client_is_usable_from_two_event_loops(calc_server: SrpcCalcServerStub) -> None:
    client = SrpcCalcAsyncClientStub(*calc_server.address)

    async def once() -> int:
        return await client.add(1, 2)

    assert asyncio.run(once()) == 3
    assert asyncio.run(once()) == 3
    asyncio.run(client.close())


def test_call_timeout_and_with_timeout_view(kitchen: SrpcKitchenClientStub) -> None:
    quick = kitchen.with_timeout(0.1)
    with pytest.raises(srpc.CallTimeout) as info:
        quick.async_sleep(2, "late")
    assert isinstance(info.value, TimeoutError)
    # The view shares the connection, which still works; the late reply is dropped.
    assert kitchen.echo_int(3) == 3
    assert quick.echo_int(4) == 4
    assert kitchen._srpc_shared is quick._srpc_shared


def test_async_call_timeout(kitchen_server: SrpcKitchenServerStub) -> None:
    async def main() -> None:
        async with SrpcKitchenAsyncClientStub(*kitchen_server.address, timeout=0.1) as k:
            with pytest.raises(srpc.CallTimeout):
                await k.async_sleep(2, "late")
            assert await k.with_timeout(None).echo_int(1) == 1

    asyncio.run(main())


def test_timeout_of_one_thread_does_not_disturb_another(kitchen: SrpcKitchenClientStub) -> None:
    with ThreadPoolExecutor(2) as pool:
        long = pool.submit(kitchen.async_sleep, 0.3, "ok")
        short = pool.submit(kitchen.with_timeout(0.05).async_sleep, 1, "late")
        with pytest.raises(srpc.CallTimeout):
            short.result()
        assert long.result() == "ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connect_error_names_the_address() -> None:
    port = _free_port()
    client = SrpcCalcClientStub("127.0.0.1", port, connect_timeout=1)
    with pytest.raises(srpc.ConnectError, match=f"127.0.0.1:{port}") as info:
        client.add(1, 2)
    assert isinstance(info.value, ConnectionError)


def test_url_host_and_environment_fallbacks(
    calc_server: SrpcCalcServerStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = calc_server.address
    with SrpcCalcClientStub(f"tcp://{host}:{port}") as calc:
        assert calc.add(2, 2) == 4
    monkeypatch.setenv("SRPC_HOST", host)
    monkeypatch.setenv("SRPC_PORT", str(port))
    with SrpcCalcClientStub() as calc:
        assert calc.add(2, 3) == 5


def test_server_restart_then_the_next_call_reconnects() -> None:
    server = SrpcCalcServerStub(port=0, metrics_log=None).start_in_background()
    host, port = server.address
    calc = SrpcCalcClientStub(host, port)
    assert calc.add(1, 1) == 2
    server.stop()
    # While the server is down the call cannot connect; it is never sent twice.
    with pytest.raises((srpc.ConnectError, srpc.ConnectionLost)):
        calc.add(1, 2)
    with SrpcCalcServerStub(host, port, metrics_log=None):
        assert calc.add(2, 2) == 4
    # Restarted again while the client was idle: the stale connection is noticed before sending.
    with SrpcCalcServerStub(host, port, metrics_log=None):
        assert calc.add(3, 3) == 6
    calc.close()


def test_calls_in_flight_fail_with_connection_lost_when_the_server_goes() -> None:
    server = SrpcKitchenServerStub(port=0, metrics_log=None, grace_period=0.1)
    server.start_in_background()
    kitchen = SrpcKitchenClientStub(*server.address)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(kitchen.async_sleep, 30, "never")
        while not server._core.in_flight():
            time.sleep(0.01)
        server.stop()
        with pytest.raises(srpc.ConnectionLost) as info:
            future.result(timeout=20)
    assert isinstance(info.value, ConnectionError)


def test_graceful_shutdown_lets_the_call_in_flight_finish() -> None:
    impl = Kitchen()
    server = SrpcKitchenServerStub(port=0, impl=impl, metrics_log=None, sync_mode="thread")
    server.start_in_background()
    kitchen = SrpcKitchenClientStub(*server.address)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(kitchen.sleep, 0.3)
        assert impl.sleeping.wait(10)
        server.stop()
        assert future.result(timeout=20) == 0.3
    with pytest.raises(srpc.ConnectError):
        SrpcKitchenClientStub(*_address_of(server, kitchen), connect_timeout=1).echo_int(1)


def _address_of(server: SrpcKitchenServerStub, client: SrpcKitchenClientStub) -> tuple[str, int]:
    settings = client._srpc_settings
    return settings.host, settings.port


def test_sync_implementations_do_not_stall_other_connections() -> None:
    impl = Kitchen()
    with SrpcKitchenServerStub(port=0, impl=impl, metrics_log=None) as server:
        a = SrpcKitchenClientStub(*server.address)
        b = SrpcKitchenClientStub(*server.address)
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(a.sleep, 1.0)
            assert impl.sleeping.wait(10)
            assert b.echo_int(1) == 1
            assert not future.done()
            assert future.result() == 1.0
        a.close()
        b.close()


class _ThreadRecordingKitchen(Kitchen):
    """Records which thread ran each call of ``sleep`` (plain def) and ``echo_int`` (inline)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def sleep(self, seconds: float) -> float:
        self.threads.append(threading.current_thread().name)
        return super().sleep(seconds)

    @srpc.inline
    def echo_int(self, value: int) -> int:
        self.threads.append(threading.current_thread().name)
        return value


def test_a_plain_def_never_runs_on_the_event_loop_unless_it_asks() -> None:
    impl = _ThreadRecordingKitchen()
    with (
        SrpcKitchenServerStub(port=0, impl=impl, metrics_log=None) as server,
        SrpcKitchenClientStub(*server.address) as k,
    ):
        loop_thread = server._thread.name  # type: ignore[union-attr]
        for _ in range(300):  # however many fast calls: never moved onto the loop
            assert k.sleep(0.0) == 0.0
        assert len(impl.threads) == 300 and loop_thread not in impl.threads
        impl.threads.clear()
        assert k.echo_int(5) == 5
        assert impl.threads == [loop_thread]


def test_sync_mode_auto_is_gone_with_a_reason() -> None:
    with pytest.raises(ValueError, match="never runs on the event loop unless asked"):
        SrpcKitchenServerStub(port=0, metrics_log=None, sync_mode="auto")  # type: ignore[arg-type]


def test_inline_refuses_async_methods() -> None:
    async def method() -> None:
        pass

    with pytest.raises(TypeError, match="plain def"):
        srpc.inline(method)


class _OtherInterface(KITCHEN_SERVICE.interface):  # type: ignore[misc,name-defined]
    pass


@pytest.mark.parametrize(
    ("service", "fingerprint"),
    [("kitchen", "another-fingerprint"), ("other", KITCHEN_SERVICE.fingerprint)],
)
def test_handshake_mismatch_is_incompatible_stub_naming_both_sides(
    kitchen_server: SrpcKitchenServerStub, service: str, fingerprint: str
) -> None:
    descriptor = ServiceDescriptor(
        name=service,
        interface=KITCHEN_SERVICE.interface,
        fingerprint=fingerprint,
        procedures=KITCHEN_SERVICE.procedures,
    )

    class Stale(SrpcKitchenClientStub):
        _srpc_service = descriptor

    with pytest.raises(srpc.IncompatibleStub) as info:
        Stale(*kitchen_server.address).echo_int(1)
    text = str(info.value)
    assert fingerprint in text and KITCHEN_SERVICE.fingerprint in text
    assert "srpc-stubgen" in text


def test_token_is_checked_in_the_handshake() -> None:
    with SrpcCalcServerStub(port=0, metrics_log=None, token="s3cret") as server:
        with pytest.raises(srpc.AuthenticationFailed):
            SrpcCalcClientStub(*server.address).add(1, 1)
        with pytest.raises(srpc.AuthenticationFailed):
            SrpcCalcClientStub(*server.address, token="wrong").add(1, 1)
        with SrpcCalcClientStub(*server.address, token="s3cret") as calc:
            assert calc.add(1, 1) == 2


def test_too_many_connections_is_refused() -> None:
    with SrpcCalcServerStub(port=0, metrics_log=None, max_connections=1) as server:
        first = SrpcCalcClientStub(*server.address)
        assert first.add(1, 1) == 2
        with pytest.raises(srpc.TooManyConnections):
            SrpcCalcClientStub(*server.address).add(1, 1)
        first.close()


def test_address_in_use_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with SrpcCalcServerStub(port=0, metrics_log=None) as server:
        host, port = server.address
        with pytest.raises(srpc.AddressInUse, match="already in use"):
            SrpcCalcServerStub(host, port, metrics_log=None).start_in_background()
        with pytest.raises(SystemExit) as info:
            SrpcCalcServerStub(host, port, metrics_log=None).start()
        assert info.value.code == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{port}" in err
        assert err.startswith("srpc: cannot listen on ") and "already in use" in err, err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_opens_its_own_connection(calc_server: SrpcCalcServerStub) -> None:
    calc = SrpcCalcClientStub(*calc_server.address)
    assert calc.add(1, 1) == 2
    parent_socket = calc._srpc_shared.connection.stream  # type: ignore[union-attr]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            ok = calc.add(20, 22) == 42 and calc._srpc_shared.connection.stream is not parent_socket  # type: ignore[union-attr]
            code = 0 if ok else 1
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"\x00"
    os.waitpid(pid, 0)
    assert calc.add(2, 2) == 4
    calc.close()


@pytest.fixture
def metrics_server(tmp_path: os.PathLike[str]) -> Iterator[tuple[SrpcCalcServerStub, str]]:
    path = os.path.join(os.fspath(tmp_path), "m.log")
    with SrpcCalcServerStub(port=0, metrics_log=path) as server:
        yield server, path


def test_metrics_record_every_call(metrics_server: tuple[SrpcCalcServerStub, str]) -> None:
    import json

    server, path = metrics_server
    with SrpcCalcClientStub(*server.address) as calc:
        calc.add(1, 2)
        with pytest.raises(ZeroDivisionError):
            calc.div(1, 0)
    server.stop()
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    calls = [line for line in lines if "proc" in line]
    assert [c["proc"] for c in calls] == ["add", "div"]
    assert calls[0]["ok"] is True and calls[1]["error"] == "ZeroDivisionError"
    assert calls[0]["req_bytes"] == 15 and calls[0]["resp_bytes"] > 4
    assert calls[0]["peer"].startswith("127.0.0.1:")
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "stop"


def test_start_serves_until_sigint(tmp_path: os.PathLike[str]) -> None:
    import signal
    import subprocess

    port = _free_port()
    code = (
        "import sys; sys.path[:0] = [{calc!r}, {tests!r}];"
        "from runtime.stubs import SrpcCalcServerStub;"
        "SrpcCalcServerStub(metrics_log=None).start(); print('returned')"
    ).format(
        calc=os.path.join(os.path.dirname(__file__), "..", "..", "examples", "calc", "server"),
        tests=os.path.join(os.path.dirname(__file__), ".."),
    )
    env = {**os.environ, "SRPC_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "calc" in line and "4 procedures" in line and f":{port}" in line
        with SrpcCalcClientStub("127.0.0.1", port) as calc:
            assert calc.add(1, 2) == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "returned" in out
    assert threading.active_count() >= 1
