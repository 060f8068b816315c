"""srpc's answers to the NATS service protocol, on a real nats-server: schema-valid, found by
discovery, counting calls, and unbothered by garbage."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import nats
import pytest

from srpc.nats.service import (
    InstanceInfo,
    ServiceStats,
    collect_stats,
    discover,
    schema_name,
    semver,
)

from .fake_instances import FINGERPRINT_A, FINGERPRINT_B, ServedInstances, identity
from .natsd import NatsServer

SCHEMAS = Path(__file__).parent / "schemas"


def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{kind}_response.json").read_text())
    return loaded


@pytest.fixture
def served(natsd: NatsServer) -> Iterator[ServedInstances]:
    served = ServedInstances(natsd.url)
    try:
        yield served
    finally:
        served.close()


async def _requests(url: str, subject: str, payload: bytes = b"", wait: float = 0.3) -> list[Any]:
    """Every JSON reply to one request on ``subject`` within ``wait`` seconds."""
    nc = await nats.connect(url)
    try:
        inbox = nc.new_inbox()
        got: list[bytes] = []

        async def collect(msg: Any) -> None:
            if msg.data:  # not the server's no-responders status
                got.append(msg.data)

        await nc.subscribe(inbox, cb=collect)
        await nc.publish(subject, payload, reply=inbox)
        await asyncio.sleep(wait)
        return [json.loads(raw) for raw in got]
    finally:
        await nc.close()


def _only(replies: list[Any], instance_id: str) -> dict[str, Any]:
    mine = [r for r in replies if r.get("id") == instance_id]
    assert len(mine) == 1, replies
    reply: dict[str, Any] = mine[0]
    return reply


@pytest.mark.parametrize("verb", ["PING", "INFO", "STATS"])
def test_every_reply_form_is_valid_against_the_nats_schema(
    served: ServedInstances, natsd: NatsServer, verb: str
) -> None:
    ident = served.add(identity(instance_id="schema1", description=""))
    served.record("schema1", "add", True, 0.25)
    served.record("schema1", "add", False, 3.0, "ValueError")
    schema = _schema(verb.lower())
    for subject in (f"$SRV.{verb}", f"$SRV.{verb}.calc", f"$SRV.{verb}.calc.schema1"):
        reply = _only(asyncio.run(_requests(natsd.url, subject)), "schema1")
        jsonschema.validate(reply, schema)
        assert reply["type"] == f"io.nats.micro.v1.{verb.lower()}_response"
        assert reply["name"] == "calc" and reply["version"] == "0.1.0"
        meta = reply["metadata"]
        assert meta["srpc_fingerprint"] == FINGERPRINT_A
        assert meta["srpc_service"] == "calc" and meta["srpc_pid"] == "4242"
        assert meta["srpc_protocol"] and meta["srpc_host"] == "testhost"
        assert meta["srpc_address"] == ident.address
        if verb == "INFO":
            assert reply["description"] == ""  # a string even when empty, never null
            assert [e["name"] for e in reply["endpoints"]] == ["add", "sub"]
            for endpoint in reply["endpoints"]:
                assert endpoint["subject"] == ident.subject
                assert endpoint["queue_group"] == ident.queue_group
        if verb == "STATS":
            # the schema's "format": "date-time" is not checked by jsonschema without extras
            started = datetime.datetime.fromisoformat(reply["started"].replace("Z", "+00:00"))
            assert started == ident.started
            add, sub = reply["endpoints"]
            assert (add["num_requests"], add["num_errors"], add["last_error"]) == (
                2,
                1,
                "ValueError",
            )
            assert add["processing_time"] == 3_250_000  # nanoseconds
            assert add["average_processing_time"] == 1_625_000
            assert (sub["num_requests"], sub["last_error"], sub["processing_time"]) == (0, "", 0)


def test_the_instance_form_reaches_only_that_instance(
    served: ServedInstances, natsd: NatsServer
) -> None:
    served.add(identity(instance_id="only1"))
    served.add(identity(instance_id="only2"))
    replies = asyncio.run(_requests(natsd.url, "$SRV.PING.calc.only2"))
    assert [r["id"] for r in replies] == ["only2"]
    assert {r["id"] for r in asyncio.run(_requests(natsd.url, "$SRV.PING.calc"))} >= {
        "only1",
        "only2",
    }


def test_discover_finds_both_fingerprints_and_skips_a_plain_micro_service(
    served: ServedInstances, natsd: NatsServer
) -> None:
    served.add(identity("disco", FINGERPRINT_A, "disco-a", ("add", "sub")))
    served.add(identity("disco", FINGERPRINT_B, "disco-b", ("add", "sub", "mult")))
    served.add(identity("other", FINGERPRINT_A, "other-1"))
    micro_id = served.add_micro("disco")  # same NATS name, not srpc (and its description is null)

    async def ask() -> tuple[list[InstanceInfo], list[InstanceInfo], list[Any]]:
        nc = await nats.connect(natsd.url)
        try:
            return (
                await discover(nc, "disco"),
                await discover(nc, None),
                await _requests(natsd.url, "$SRV.INFO.disco"),
            )
        finally:
            await nc.close()

    found, everything, raw = asyncio.run(ask())
    assert micro_id in {r["id"] for r in raw}  # it is there, and answers
    assert [(i.instance_id, i.fingerprint) for i in found] == [
        ("disco-a", FINGERPRINT_A),
        ("disco-b", FINGERPRINT_B),
    ]
    b = found[1]
    assert b.service == "disco" and b.procedures == ("add", "sub", "mult")
    assert b.subject == f"srpc.disco.{FINGERPRINT_B[:16]}" and b.queue_group == "srpc.disco"
    assert b.version == "0.1.0" and b.address == "nats://127.0.0.1:4222"
    assert (b.host, b.pid, b.description) == ("testhost", 4242, "A calculator.")
    ids = {i.instance_id for i in everything}
    assert {"disco-a", "disco-b", "other-1"} <= ids and micro_id not in ids


def test_collect_stats_counts_each_procedure_per_instance(
    served: ServedInstances, natsd: NatsServer
) -> None:
    served.add(identity("counted", FINGERPRINT_A, "count-1"))
    served.add(identity("counted", FINGERPRINT_A, "count-2"))
    for latency in (0.5, 1.0, 2.0):
        served.record("count-1", "add", True, latency)
    served.record("count-1", "sub", False, 4.0, "ZeroDivisionError")
    served.record("count-2", "add", True, 0.0)
    served.record("count-2", "nope", True, 1.0)  # not a procedure: not counted

    async def ask() -> list[Any]:
        nc = await nats.connect(natsd.url)
        try:
            return await collect_stats(nc, "counted")
        finally:
            await nc.close()

    one, two = asyncio.run(ask())
    assert (one.instance_id, two.instance_id) == ("count-1", "count-2")
    assert (one.calls, one.errors, two.calls, two.errors) == (4, 1, 1, 0)
    assert one.started == datetime.datetime(
        2026, 12, 1, 11, 0, 0, 123456, tzinfo=datetime.timezone.utc
    )
    add, sub = one.endpoints
    assert add.procedure == "add" and add.num_requests == 3 and add.num_errors == 0
    assert add.processing_time_ns == 3_500_000 and add.average_processing_time_ns == 1_166_666
    assert add.has_histogram and sum(add.latency_hist.values()) == 3
    assert (add.latency_min_ms, add.latency_max_ms) == (0.5, 2.0)
    assert (sub.num_errors, sub.last_error) == (1, "ZeroDivisionError")
    assert two.endpoints[0].latency_zero == 1 and two.endpoints[0].has_histogram


def test_garbage_requests_do_not_break_it_and_garbage_replies_are_skipped(
    served: ServedInstances, natsd: NatsServer
) -> None:
    served.add(identity("sturdy", FINGERPRINT_A, "sturdy-1"))

    async def scenario() -> tuple[list[InstanceInfo], list[Any]]:
        nc = await nats.connect(natsd.url)
        try:
            # requests with payloads, without a reply subject, to subjects nobody serves
            for subject in ("$SRV.INFO", "$SRV.STATS.sturdy", "$SRV.PING.sturdy.sturdy-1"):
                await nc.publish(subject, b"\xff\x00 not json")
                await nc.publish(subject, b'{"type": 3}', reply=nc.new_inbox())
            await nc.publish("$SRV.INFO.sturdy.nobody.extra", b"x", reply=nc.new_inbox())

            # a service that answers INFO and STATS with garbage of every kind
            bad = [
                b"not json",
                b"[1, 2]",
                b'{"type": "io.nats.micro.v1.info_response"}',
                b'{"type": "io.nats.micro.v1.info_response", "name": "sturdy", "id": "x", '
                b'"metadata": {"srpc_fingerprint": 7}}',
                b'{"type": "io.nats.micro.v1.stats_response", "name": "sturdy", "id": "y", '
                b'"metadata": {"srpc_fingerprint": "ff"}, "endpoints": [{"name": 5}]}',
                b'{"type": "io.nats.micro.v1.stats_response", "name": "sturdy", "id": "z", '
                b'"metadata": {"srpc_fingerprint": "ff"}, "endpoints": [{"name": "add", '
                b'"num_requests": 2, "data": {"srpc_latency_hist": {"x": "y"}, '
                b'"srpc_latency_min_ms": "low"}}]}',
                b'{"type": "io.nats.micro.v1.stats_response", "name": "sturdy", "id": "w", '
                b'"metadata": {"srpc_fingerprint": "ff"}, "endpoints": [{"name": "add", '
                b'"num_requests": 1, "data": {"srpc_latency_hist": {"100000": 1}, '
                b'"srpc_latency_min_ms": 1.0, "srpc_latency_max_ms": 1.0}}]}',
            ]

            async def liar(msg: Any) -> None:
                for payload in bad:
                    await nc.publish(msg.reply, payload)

            for subject in ("$SRV.INFO", "$SRV.INFO.sturdy", "$SRV.STATS", "$SRV.STATS.sturdy"):
                await nc.subscribe(subject, cb=liar)
            await nc.flush()
            return await discover(nc, "sturdy"), await collect_stats(nc, "sturdy")
        finally:
            await nc.close()

    found, stats = asyncio.run(scenario())
    assert [i.instance_id for i in found] == ["sturdy-1"]
    by_id = {s.instance_id: s for s in stats}
    assert set(by_id) == {"sturdy-1", "z", "w"}  # well-formed enough; their junk data dropped
    z = by_id["z"].endpoints[0]
    assert z.num_requests == 2 and z.latency_hist == {} and z.latency_min_ms is None
    assert not z.has_histogram
    assert by_id["w"].endpoints[0].latency_hist == {}  # a bucket no latency can be in
    from srpc.dashboard.instances import InstancesAggregate

    agg = InstancesAggregate("sturdy")
    agg.feed(stats, 1.0)
    assert agg.snapshot(1.0).calls == 3  # the dashboard takes them without a fuss
    # and it still answers
    assert _only(asyncio.run(_requests(natsd.url, "$SRV.PING.sturdy")), "sturdy-1")


def test_stopping_unsubscribes(served: ServedInstances, natsd: NatsServer) -> None:
    served.add(identity("gone", FINGERPRINT_A, "gone-1"))
    assert asyncio.run(_requests(natsd.url, "$SRV.PING.gone"))
    served.stop("gone-1")
    assert asyncio.run(_requests(natsd.url, "$SRV.PING.gone", wait=0.2)) == []


def test_names_and_versions_are_made_schema_valid() -> None:
    assert schema_name("my_calc") == "my_calc"
    assert schema_name("café.v2") == "caf__v2"
    assert semver("0.1.0") == "0.1.0"
    assert semver("0.2.0.dev3") == "0.2.0-dev3"
    assert semver("1.0rc1") == "1.0.0-rc1"
    assert semver("1.2.3+local.7") == "1.2.3+local.7"
    assert semver("nonsense") == "0.0.0"


def test_stats_ignore_bad_latencies_and_unknown_procedures() -> None:
    stats = ServiceStats(["add"])
    stats.record("add", True, float("nan"), None)
    stats.record("add", False, -1.0, None)
    stats.record("mult", True, 1.0, None)
    (add,) = stats.endpoint_stats("s", "q")
    assert (add["num_requests"], add["num_errors"], add["last_error"]) == (2, 1, "error")
    assert add["processing_time"] == 0 and add["data"]["srpc_latency_zero"] == 2


def test_a_real_server_stub_answers_schema_valid_and_counts_its_calls(natsd: NatsServer) -> None:
    from tests.runtime.stubs import SrpcCalcClientStub, SrpcCalcServerStub

    with SrpcCalcServerStub(natsd.url, metrics_log=None):
        calc = SrpcCalcClientStub(natsd.url)
        try:
            assert calc.add(2, 3) == 5 and calc.add(1, 1) == 2
            with pytest.raises(ZeroDivisionError):
                calc.div(1, 0)
        finally:
            calc.close()
        replies = {
            verb: asyncio.run(_requests(natsd.url, f"$SRV.{verb}.calc"))
            for verb in ("PING", "INFO", "STATS")
        }
        ids = {r["id"] for r in replies["INFO"] if "srpc_fingerprint" in (r.get("metadata") or {})}
        (instance_id,) = ids  # this module's calc instance
        for verb, got in replies.items():
            jsonschema.validate(_only(got, instance_id), _schema(verb.lower()))
        info = _only(replies["INFO"], instance_id)
        assert isinstance(info["description"], str)
        assert [e["name"] for e in info["endpoints"]] == list(
            SrpcCalcServerStub._srpc_service.procedures
        )
        assert info["metadata"]["srpc_fingerprint"] == SrpcCalcServerStub._srpc_service.fingerprint
        stats = {e["name"]: e for e in _only(replies["STATS"], instance_id)["endpoints"]}
        assert stats["add"]["num_requests"] == 2 and stats["add"]["num_errors"] == 0
        assert stats["div"]["num_errors"] == 1 and stats["div"]["last_error"] == "ZeroDivisionError"
        assert stats["add"]["processing_time"] > 0
