"""Regressions the runtime core fixed: an interrupted call, a wrong answer type, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

import srpc
from srpc.protocol import MessageReader, Request, Welcome, encode_message

from .stubs import (
    CALC,
    CALC_SERVICE,
    SrpcCalcClientStub,
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def default_sigint() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_main_after(seconds: float) -> threading.Timer:
    """A real SIGINT to this process (Ctrl-C): it interrupts a blocking recv in the main thread."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_during_a_sync_call_leaves_the_stub_usable(kitchen_server: object) -> None:
    address = kitchen_server.address  # type: ignore[attr-defined]
    with SrpcKitchenClientStub(*address) as kitchen:
        assert kitchen.echo_int(1) == 1
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            kitchen.sleep(3.0)  # alone on its connection: it holds the reader role
        timer.join()
        # Before the fix the reader role stayed taken: this hung, and a call with a timeout
        # timed out.
        assert kitchen.with_timeout(10).echo_int(2) == 2
        assert kitchen.echo_int(3) == 3


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_while_another_thread_reads_leaves_the_stub_usable(kitchen_server: object) -> None:
    address = kitchen_server.address  # type: ignore[attr-defined]
    with SrpcKitchenClientStub(*address) as kitchen:
        other = threading.Thread(target=kitchen.sleep, args=(1.0,))
        other.start()
        connection = kitchen._srpc_shared.connection
        while connection is None or not connection.reading:
            time.sleep(0.005)
            connection = kitchen._srpc_shared.connection
        timer = _interrupt_main_after(0.2)
        with pytest.raises(KeyboardInterrupt):
            kitchen.sleep(2.0)  # a follower: waits while the other thread reads
        timer.join()
        other.join(10)
        assert kitchen.with_timeout(10).echo_int(4) == 4


class _LyingServer:
    """Welcomes a client, then answers its first request with a Request of the same id."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        reader = MessageReader()
        welcome = Welcome(1, CALC_SERVICE.name, CALC_SERVICE.fingerprint, 1 << 20, 8)
        with conn:
            answered = False
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for message, _ in reader.feed(data):
                    if not answered:
                        conn.sendall(encode_message(welcome))
                        answered = True
                    elif isinstance(message, Request):
                        raw = msgspec.Raw(b"\x90")
                        conn.sendall(encode_message(Request(message.id, "add", raw, raw)))

    def close(self) -> None:
        self.listener.close()


def test_a_message_that_is_not_an_answer_fails_the_connection() -> None:
    server = _LyingServer()
    try:
        calc = SrpcCalcClientStub("127.0.0.1", server.port, timeout=10)
        with pytest.raises(srpc.ConnectionLost, match="unexpected Request message"):
            calc.add(1, 2)
        assert server.accepted == 1
        with pytest.raises(srpc.ConnectionLost):
            calc.add(1, 2)  # a new connection: the old one was failed, not reused
        assert server.accepted == 2
        calc.close()
    finally:
        server.close()


_BLOCKED_SERVER = """
import threading
from srpc_calc_server_stub import SrpcCalcServerStub
from calc.calc import Calc

class Blocked(Calc):
    def add(self, a: int, b: int) -> int:
        threading.Event().wait()  # blocked for ever
        return a + b

SrpcCalcServerStub(port=0, impl=Blocked(), metrics_log=None, grace_period=1.0,
                   max_workers=4).start()
"""


def test_sigterm_ends_the_server_within_the_grace_period_even_with_blocked_calls(
    tmp_path: Path,
) -> None:
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(_BLOCKED_SERVER))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(CALC), str(REPO)]))
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split(" on ")[1].split(";")[0].rsplit(":", 1)[1])
        outcomes: list[BaseException] = []

        def call() -> None:
            try:
                SrpcCalcClientStub("127.0.0.1", port).add(1, 2)
            except BaseException as exc:  # recorded for the assertion below
                outcomes.append(exc)

        callers = [threading.Thread(target=call, daemon=True) for _ in range(6)]
        for caller in callers:  # more blocked calls than worker threads
            caller.start()
        time.sleep(0.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - started
        assert elapsed <= 1.0 + 1.0, f"exit took {elapsed:.2f} s after SIGTERM"
        for caller in callers:
            caller.join(10)
        assert len(outcomes) == 6 and all(isinstance(e, srpc.ConnectionLost) for e in outcomes)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_both_stubs_raise_the_same_error_when_the_server_is_down() -> None:
    import asyncio

    from .stubs import SrpcCalcAsyncClientStub

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(srpc.ConnectError) as sync_error:
        SrpcCalcClientStub("127.0.0.1", port).add(1, 2)

    async def call() -> int:
        return await SrpcCalcAsyncClientStub("127.0.0.1", port).add(1, 2)

    with pytest.raises(srpc.ConnectError) as async_error:
        asyncio.run(call())
    assert str(sync_error.value) == str(async_error.value)
    assert f"127.0.0.1:{port}" in str(sync_error.value)


def test_srpc_connection_errors_print_their_message_on_the_client() -> None:
    # An OSError's errno/strerror/filename travel as attributes; set to the None they already
    # were, they made a rebuilt ConnectError print "[Errno None] None: None -> None".
    from srpc.errors import ConnectError
    from srpc.remote_errors import error_reply, rebuild_exception

    rebuilt = rebuild_exception(error_reply(1, ConnectError("service x is shutting down"), {}), {})
    assert type(rebuilt) is ConnectError and str(rebuilt) == "service x is shutting down"
    missing = rebuild_exception(error_reply(2, FileNotFoundError(2, "No such file", "/x"), {}), {})
    assert str(missing) == "[Errno 2] No such file: '/x'" and missing.filename == "/x"


def test_a_task_that_swallowed_a_cancellation_can_still_make_calls_with_a_timeout(
    kitchen_server: SrpcKitchenServerStub,
) -> None:
    # The check for a cancellation wait_for dropped compares the task's pending
    # cancellations before and after: an old one the task caught must not fail later calls.
    async def main() -> int:
        async with SrpcKitchenAsyncClientStub(*kitchen_server.address, timeout=5) as client:
            try:
                task = asyncio.current_task()
                assert task is not None
                task.cancel()
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                pass  # swallowed (without uncancel): cancelling() stays 1 on 3.11
            return int(await client.echo_int(7))

    assert asyncio.run(main()) == 7
