"""What NATS does not tell the caller, srpc does: no responders, a dead or hung instance, a
vanished client, two interface versions side by side; and garbage never stops an instance."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from calc.calc import Calc  # on sys.path once the stubs are imported (conftest)
from calc.calc_interface import CalcInterface
from streamsvc.streamsvc import Streamsvc

import srpc
from srpc import Server, ServiceDescriptor
from tests.runtime.streams_stubs import SrpcStreamsvcServerStub
from tests.runtime.stubs import (
    CALC_SERVICE,
    SrpcCalcClientStub,
    SrpcCalcServerStub,
    SrpcKitchenAsyncClientStub,
    SrpcKitchenClientStub,
)

from .natsd import NatsServer, nats_server

REPO = Path(__file__).resolve().parents[2]


class _Instance:
    def __init__(self, process: subprocess.Popen[str], log: Path, line: str) -> None:
        self.process = process
        self.log = log
        self.line = line
        self.id = line.split("; instance ")[1].split(";")[0]

    def values(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture
def start_instances(tmp_path: Path) -> Iterator[Any]:
    started: list[_Instance] = []

    def start(url: str, count: int) -> list[_Instance]:
        new = []
        for _ in range(count):
            log = tmp_path / f"calls-{len(started) + len(new)}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.over_nats.instance", url, str(log)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            new.append((process, log))
        instances = []
        for process, log in new:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "srpc: serving kitchen" in line, line
            instances.append(_Instance(process, log, line))
        started.extend(instances)
        return instances

    yield start
    for instance in started:
        if instance.process.poll() is None:
            instance.process.kill()
        instance.process.wait()


@pytest.fixture(scope="module")
def lonely() -> Iterator[NatsServer]:
    """A NATS server nobody serves on (besides what a test starts)."""
    with nats_server() as server:
        yield server


# -- several instances ------------------------------------------------------------------


@pytest.mark.slow
def test_three_server_processes_share_the_calls(lonely: NatsServer, start_instances: Any) -> None:
    instances = start_instances(lonely.url, 3)
    assert "on " + lonely.url + ";" in instances[0].line
    with SrpcKitchenClientStub(lonely.url, timeout=10) as kitchen:
        for i in range(150):
            assert kitchen.echo_str(f"v{i}") == f"v{i}"
    counts = [len(instance.values()) for instance in instances]
    assert sum(counts) == 150
    assert all(count > 0 for count in counts), counts


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_dead_or_hung_instance_costs_only_its_own_calls(
    lonely: NatsServer, start_instances: Any, how: str
) -> None:
    instances = start_instances(lonely.url, 3)
    victim = instances[0]

    async def main() -> dict[str, Any]:
        async with SrpcKitchenAsyncClientStub(lonely.url, timeout=30) as kitchen:
            await kitchen.echo_str("warm")

            async def one(i: int) -> Any:
                try:
                    return await kitchen.async_sleep(2.0, f"c{i}")
                except srpc.ConnectionLost as exc:
                    return (exc, time.monotonic())

            tasks = [asyncio.create_task(one(i)) for i in range(30)]
            await asyncio.sleep(0.3)  # all sent, every instance running its share
            killed = time.monotonic()
            if how == "kill":
                victim.process.send_signal(signal.SIGKILL)
            else:
                victim.process.send_signal(signal.SIGSTOP)
            results = await asyncio.gather(*tasks)
            after = []
            if how == "kill":  # new calls go to the others (a hung instance still gets its
                # share until the NATS server drops it: its ping_interval)
                after = [await kitchen.echo_str(f"after{i}") for i in range(10)]
            return {"results": results, "killed": killed, "after": after}

    try:
        outcome = asyncio.run(main())
    finally:
        if how == "stop":
            victim.process.send_signal(signal.SIGCONT)
            victim.process.kill()
    results = outcome["results"]
    lost = {f"c{i}": r for i, r in enumerate(results) if isinstance(r, tuple)}
    ok = {f"c{i}" for i, r in enumerate(results) if r == f"c{i}"}
    assert len(lost) + len(ok) == 30
    ran_on_victim = set(victim.values())
    # Exactly the victim's calls failed, quickly (the call timeout is 30 s).
    assert set(lost) == {v for v in ran_on_victim if v.startswith("c")}
    assert lost, "the victim held none of the calls"
    for exc, when in lost.values():
        assert when - outcome["killed"] < 5.0
        assert "instance" in str(exc)
    # Nothing ran twice, and the survivors ran the rest.
    everything = [v for instance in instances for v in instance.values()]
    calls = [v for v in everything if v.startswith("c")]
    assert len(calls) == len(set(calls)) == 30
    if how == "kill":
        assert outcome["after"] == [f"after{i}" for i in range(10)]


# -- nobody serving, other versions --------------------------------------------------------


class NobodyClient(SrpcCalcClientStub):
    _srpc_service = dataclasses.replace(CALC_SERVICE, name="nobody")


def test_no_responders_is_connect_error_naming_the_service_at_once(lonely: NatsServer) -> None:
    started = time.monotonic()
    with NobodyClient(lonely.url) as client, pytest.raises(srpc.ConnectError, match="'nobody'"):
        client.add(1, 2)
    assert time.monotonic() - started < 1.0


def test_every_instance_gone_after_connecting_is_connect_error(lonely: NatsServer) -> None:
    server = SrpcCalcServerStub(lonely.url, metrics_log=None).start_in_background()
    with SrpcCalcClientStub(lonely.url, timeout=10) as calc:
        assert calc.add(1, 2) == 3
        server.stop()
        started = time.monotonic()
        with pytest.raises(srpc.ConnectError, match="'calc'"):
            calc.add(1, 2)
        assert time.monotonic() - started < 1.0


class CalcV2Interface(CalcInterface):
    """Version 2: one procedure more."""

    def neg(self, a: int) -> int:
        raise NotImplementedError


class CalcV2(Calc, CalcV2Interface):
    def neg(self, a: int) -> int:
        return -a


V2_SERVICE = ServiceDescriptor(
    name="calc",
    interface=CalcV2Interface,
    fingerprint="f2" * 32,
    procedures=(*CALC_SERVICE.procedures, "neg"),
)


class CalcV2Server(Server):
    _srpc_service = V2_SERVICE


class CalcV2Client(srpc.SyncClient):
    _srpc_service = V2_SERVICE

    def add(self, a: int, b: int) -> int:
        result: int = self._srpc_call("add", (a, b), {})
        return result

    def neg(self, a: int) -> int:
        result: int = self._srpc_call("neg", (a,), {})
        return result


def test_only_another_fingerprint_served_is_incompatible_stub_naming_both(
    lonely: NatsServer,
) -> None:
    with (
        CalcV2Server(lonely.url, impl=CalcV2(), metrics_log=None),
        SrpcCalcClientStub(lonely.url) as calc,
        pytest.raises(srpc.IncompatibleStub) as info,
    ):
        calc.add(1, 2)
    text = str(info.value)
    assert CALC_SERVICE.fingerprint in text
    assert V2_SERVICE.fingerprint in text
    assert "Regenerate" in text


def test_a_rolling_upgrade_serves_both_versions_each_to_its_own_clients(
    lonely: NatsServer, tmp_path: Path
) -> None:
    import json

    v1_log, v2_log = tmp_path / "v1.log", tmp_path / "v2.log"
    with (
        SrpcCalcServerStub(lonely.url, metrics_log=v1_log),
        CalcV2Server(lonely.url, impl=CalcV2(), metrics_log=v2_log),
        SrpcCalcClientStub(lonely.url, timeout=10) as old,
        CalcV2Client(lonely.url, timeout=10) as new,
    ):
        for i in range(30):
            assert old.add(i, 1) == i + 1
            assert new.neg(i) == -i
            assert new.add(i, 2) == i + 2

    def procs(log: Path) -> list[str]:
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        return [line["proc"] for line in lines if "proc" in line]

    assert procs(v1_log) == ["add"] * 30
    assert sorted(procs(v2_log)) == sorted(["neg", "add"] * 30)


# -- a vanished client ---------------------------------------------------------------------

_VANISHING_CLIENT = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.runtime.streams_stubs import SrpcStreamsvcClientStub
client = SrpcStreamsvcClientStub({url!r})
stream = client.forever("vanish")
next(stream)
print("streaming", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_vanished_client_has_its_stream_cancelled_on_the_server(lonely: NatsServer) -> None:
    impl = Streamsvc()
    with SrpcStreamsvcServerStub(lonely.url, impl=impl, metrics_log=None):
        code = _VANISHING_CLIENT.format(repo=str(REPO), url=lonely.url)
        process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "streaming"
            process.kill()
            process.wait()
            gone = time.monotonic()
            assert impl.wait_for("closed vanish", timeout=10), impl.events()
            assert time.monotonic() - gone < 5.0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


# -- garbage ---------------------------------------------------------------------------------


def test_garbage_on_every_subject_never_stops_an_instance(lonely: NatsServer) -> None:
    import nats

    from srpc.nats.wire import CHUNK, Subjects

    subjects = Subjects(CALC_SERVICE.name, CALC_SERVICE.fingerprint)
    with (
        SrpcCalcServerStub(lonely.url, metrics_log=None) as server,
        SrpcCalcClientStub(lonely.url, timeout=10) as calc,
    ):
        assert calc.add(1, 1) == 2
        instance = subjects.instance(server._metrics.instance)

        async def spray() -> None:
            nc = await nats.connect(lonely.url)
            inbox = calc._srpc_shared.connection.stream.link.inbox  # type: ignore[union-attr]
            junk = [
                b"\x00",
                b"\xff" * 100,
                os.urandom(3000),
                b"\x95\x04\x01",  # a Request cut short
                b"\x95\x04\x01\xa3add\x92\x01\x02\x80",  # a valid Request with no reply
                bytes([CHUNK]) + b"\xff\xff\xff\xff" + b"\x00" * 10,  # a 4 GiB chunk
                bytes([CHUNK]) + b"\x00\x00\x00\x10\x00\x00\x00\x05abc",  # out of order
                b"\x92\x09\x01",  # a Cancel of somebody's call
            ]
            for subject in (subjects.service, instance, subjects.who, f"{inbox}.1", inbox):
                for payload in junk:
                    await nc.publish(subject, payload, reply=f"{inbox}.999")
                    await nc.publish(subject, payload)
                    await nc.publish(subject, payload, reply="_INBOX.nobody.7")
            await nc.flush()
            await nc.close()

        asyncio.run(spray())
        for i in range(20):
            assert calc.add(i, i) == 2 * i
    with SrpcCalcClientStub(lonely.url, timeout=10):
        pass


# -- the NATS server restarts ----------------------------------------------------------------


@pytest.mark.slow
def test_instances_and_clients_come_back_after_a_nats_restart() -> None:
    from .natsd import _free_port

    port = _free_port()
    with nats_server(port=port) as first:
        url = first.url
        server = SrpcCalcServerStub(url, metrics_log=None).start_in_background()
        calc = SrpcCalcClientStub(url, timeout=10)
        assert calc.add(1, 2) == 3
    try:
        with nats_server(port=port):
            deadline = time.monotonic() + 10
            while True:  # the client's connection failed; its next call connects again
                try:
                    assert calc.add(2, 3) == 5
                    break
                except (srpc.ConnectionLost, srpc.ConnectError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)  # the instance is still reconnecting
            assert calc.mult(3, 3) == 9
    finally:
        calc.close()
        server.stop()


def test_who_is_told_to_wait_by_an_instance_with_requests_unread(lonely: NatsServer) -> None:
    import msgspec
    import nats

    from srpc.nats.wire import WAIT, Subjects

    subjects = Subjects(CALC_SERVICE.name, CALC_SERVICE.fingerprint)
    with SrpcCalcServerStub(lonely.url, metrics_log=None) as server:
        instance = next(c for c in server._core.connections if hasattr(c, "instance_id"))

        class Busy:  # as if requests were waiting in nats-py's queue, unread
            pending_msgs = 3

        real, instance.service_subscription = instance.service_subscription, Busy()

        async def ask() -> tuple[bytes, str]:
            nc = await nats.connect(lonely.url)
            inbox = nc.new_inbox()
            sub = await nc.subscribe(f"{inbox}.>")
            await nc.publish(subjects.who, msgspec.msgpack.encode([41]), reply=inbox)
            msg = await sub.next_msg(timeout=5)
            await nc.close()
            return msg.data, msg.subject

        try:
            data, subject = asyncio.run(ask())
        finally:
            instance.service_subscription = real
    assert data == WAIT
    assert subject.endswith(".41")
