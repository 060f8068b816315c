"""Faults over real sockets: killed servers and clients, stalled peers, restarts, fork()."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from srpc import CallTimeout, ConnectError, ConnectionLost
from srpc.protocol import PROTOCOL_VERSION, MessageReader, Welcome, encode_message

from .helpers import (
    REPO,
    ServerProcess,
    background_server,
    calls_in_flight,
    connection_count,
    open_fds,
    wait_until,
)
from .stubs import SERVICE, SrpcGuardAsyncClientStub, SrpcGuardClientStub

HANG_GUARD = 30.0  # only guards against a hang; no timing is asserted


def _call_in_thread(fn: object) -> tuple[threading.Thread, list[BaseException | object]]:
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(fn())  # type: ignore[operator]
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_server_killed_mid_call_fails_the_call_with_connection_lost() -> None:
    with ServerProcess() as server:
        client = SrpcGuardClientStub("127.0.0.1", server.port)
        assert client.echo("up") == "up"
        thread, outcome = _call_in_thread(lambda: client.slow(60, "never"))
        time.sleep(0.2)  # let the call reach the server
        server.kill(signal.SIGKILL)
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "the call hung after the server died"
        assert isinstance(outcome[0], ConnectionLost)
        with pytest.raises(ConnectError):
            client.echo("server is gone")
        client.close()


def test_server_killed_mid_call_fails_async_calls_with_connection_lost() -> None:
    async def main(port: int, server: ServerProcess) -> list[BaseException | str]:
        async with SrpcGuardAsyncClientStub("127.0.0.1", port) as client:
            assert await client.echo("up") == "up"
            calls = [asyncio.ensure_future(client.slow(60, f"never {i}")) for i in range(5)]
            await asyncio.sleep(0.2)
            server.kill(signal.SIGKILL)
            done = await asyncio.wait_for(
                asyncio.gather(*calls, return_exceptions=True), HANG_GUARD
            )
            return list(done)

    with ServerProcess() as server:
        outcomes = asyncio.run(main(server.port, server))
    assert all(isinstance(o, ConnectionLost) for o in outcomes), outcomes


_CLIENT_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.hardening.stubs import SrpcGuardClientStub
client = SrpcGuardClientStub("127.0.0.1", {port})
print(client.echo("ready"), flush=True)
client.slow(60, "never")
"""


def test_client_killed_mid_call_frees_everything_on_the_server() -> None:
    with background_server() as server:
        port = server.address[1]
        with SrpcGuardClientStub("127.0.0.1", port) as warm:
            warm.echo("warm up the pool and the codecs")
        assert wait_until(lambda: connection_count(server) == 0)
        fds_before = open_fds()
        for _ in range(3):
            child = subprocess.Popen(
                [sys.executable, "-c", _CLIENT_SCRIPT.format(repo=str(REPO), port=port)],
                stdout=subprocess.PIPE, text=True,
            )
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            assert wait_until(lambda: calls_in_flight(server) == 1)
            child.kill()
            child.wait(10)
            child.stdout.close()
            assert wait_until(lambda: connection_count(server) == 0)
            # The abandoned async call finishes on its own; nothing waits on it for ever.
        assert wait_until(lambda: open_fds() == fds_before), (open_fds(), fds_before)


class StallingPeer:
    """A 'server' that accepts, optionally welcomes, then never answers."""

    def __init__(self, welcome: bool, max_frame: int = 1 << 20) -> None:
        self.max_frame = max_frame
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.welcome = welcome
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.welcome:
                reader = MessageReader()
                hello: list[object] = []
                while not hello:
                    data = conn.recv(65536)
                    if not data:
                        break
                    hello = list(reader.feed(data))
                if not hello:
                    continue
                conn.sendall(encode_message(Welcome(PROTOCOL_VERSION, SERVICE.name,
                                                    SERVICE.fingerprint, self.max_frame, 16)))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        self.thread.join(5)
        for conn in self.held:
            conn.close()


def test_a_stalled_peer_trips_the_deadlines() -> None:
    silent = StallingPeer(welcome=False)
    try:
        with pytest.raises(ConnectError, match="handshake"):
            SrpcGuardClientStub("127.0.0.1", silent.port, connect_timeout=0.3).echo("x")
    finally:
        silent.close()
    stalled = StallingPeer(welcome=True)
    try:
        client = SrpcGuardClientStub("127.0.0.1", stalled.port, timeout=0.3)
        with pytest.raises(CallTimeout):
            client.echo("no reply")
        with pytest.raises(CallTimeout):
            client.with_timeout(0.1).slow(1, "no reply either")
        client.close()
    finally:
        stalled.close()


def test_a_peer_that_stops_reading_cannot_hold_a_send_past_the_deadline() -> None:
    # 32 MiB cannot fit in the socket buffers of a peer that never reads: without a bounded
    # send the call would block in sendall for ever, whatever its timeout.
    stalled = StallingPeer(welcome=True, max_frame=64 << 20)
    outcome: list[BaseException] = []

    def call() -> None:
        client = SrpcGuardClientStub("127.0.0.1", stalled.port, timeout=0.5)
        for _ in range(2):  # the first cut-short frame closes the connection; the next reconnects
            try:
                client.echo("x" * (32 << 20))
            except BaseException as exc:  # recorded for the assertions below
                outcome.append(exc)
        client.close()

    try:
        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(30)
        assert not worker.is_alive(), "a call stayed blocked in a send past its deadline"
    finally:
        stalled.close()
    assert len(outcome) == 2 and all(isinstance(e, CallTimeout) for e in outcome), outcome
    assert "could not be sent" in str(outcome[0])
    assert len(stalled.held) == 2  # the cut-short connection was dropped, the next call redialled


def test_an_async_call_to_a_peer_that_stops_reading_times_out() -> None:
    stalled = StallingPeer(welcome=True, max_frame=64 << 20)

    async def main() -> list[BaseException]:
        client = SrpcGuardAsyncClientStub("127.0.0.1", stalled.port, timeout=0.5)
        calls = [client.echo("x" * (16 << 20)) for _ in range(3)]  # all wait for the same drain
        outcome = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 20)
        await client.close()
        return list(outcome)

    try:
        outcome = asyncio.run(main())
    finally:
        stalled.close()
    assert all(isinstance(e, CallTimeout) for e in outcome), outcome


def test_a_slow_server_call_times_out_and_the_connection_stays_usable() -> None:
    with background_server() as server, SrpcGuardClientStub(
        "127.0.0.1", server.address[1]
    ) as client:
        with pytest.raises(CallTimeout):
            client.with_timeout(0.1).slow(0.5, "late")
        assert client.echo("next") == "next"  # the late reply is not mistaken for this one
        time.sleep(0.5)
        assert client.echo("after the late reply") == "after the late reply"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_clients_reconnect_after_a_server_restart(how: signal.Signals) -> None:
    first = ServerProcess()
    port = first.port
    client = SrpcGuardClientStub("127.0.0.1", port)
    try:
        assert client.echo("before") == "before"
        first.kill(how)
        with ServerProcess(port=port):
            assert client.echo("after restart") == "after restart"
        with ServerProcess(port=port):
            assert client.echo("after a second restart") == "after a second restart"
    finally:
        first.kill()
        client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_use_gives_the_child_its_own_connection(tmp_path: Path) -> None:
    log = tmp_path / "metrics.log"
    with ServerProcess("--metrics-log", str(log)) as server:
        client = SrpcGuardClientStub("127.0.0.1", server.port)
        assert client.echo("parent-1") == "parent-1"
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, never return into pytest
            code = 1
            try:
                os.close(read_end)
                answer = client.echo("child")
                os.write(write_end, json.dumps(answer).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            child_answer = json.loads(pipe.read() or "null")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert child_answer == "child"
        # The child exiting did not disturb the parent's connection.
        assert client.echo("parent-2") == "parent-2"
        client.close()
        server.kill(signal.SIGTERM)  # graceful: flushes the metrics log
    peers: dict[str, list[bool]] = {}
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("proc") == "echo":
            peers.setdefault(record["peer"], []).append(record["ok"])
    assert len(peers) == 2, peers  # the parent's connection, and the child's own
    assert sorted(len(v) for v in peers.values()) == [1, 2]
