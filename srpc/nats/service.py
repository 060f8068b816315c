"""The NATS service protocol ("micro" v1) for srpc instances: answering it, and asking it.

Every srpc instance serving over NATS answers ``$SRV.PING``, ``$SRV.INFO``
and ``$SRV.STATS`` in the three forms NATS tooling sends them (all services,
``$SRV.<VERB>.<name>``, ``$SRV.<VERB>.<name>.<id>``), with replies valid
against NATS's JSON schemas (``io.nats.micro.v1.*_response``), so ``nats
micro ls`` lists srpc services beside any others. The NATS ``name`` is the
srpc service name; srpc's own facts go in ``metadata`` (``srpc_*`` keys), and
that is how :func:`discover` and :func:`collect_stats` tell srpc instances
from other services that share the name. INFO lists one endpoint per
procedure, all on the instance's one request subject and queue group.
STATS counts per procedure, with times in nanoseconds as the schema says,
and a latency histogram in the endpoint's ``data`` (the buckets of
:func:`srpc.metrics.latency_bucket`), from which ``srpc-metrics`` shows
percentiles.

The mapping is documented in ``docs/NATS_SERVICES.md``. nats-py is only used through
the connection the caller passes in: importing this module does not import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from srpc.metrics import MIN_LATENCY_MS, latency_bucket
from srpc.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

__all__ = [
    "INFO_RESPONSE_TYPE",
    "PING_RESPONSE_TYPE",
    "PREFIX",
    "STATS_RESPONSE_TYPE",
    "EndpointStats",
    "InstanceInfo",
    "InstanceStats",
    "ServiceIdentity",
    "ServiceProtocol",
    "ServiceStats",
    "collect_stats",
    "control_subjects",
    "discover",
    "schema_name",
    "semver",
    "serve_service_protocol",
]

PREFIX = "$SRV"
PING_RESPONSE_TYPE = "io.nats.micro.v1.ping_response"
INFO_RESPONSE_TYPE = "io.nats.micro.v1.info_response"
STATS_RESPONSE_TYPE = "io.nats.micro.v1.stats_response"
VERBS = ("PING", "INFO", "STATS")

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_RELEASE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$")

_MAX_REPLY = 4 * 1024 * 1024
"""A reply to INFO or STATS larger than this is skipped unread (no srpc instance sends one)."""
_MAX_HIST_BUCKETS = 4096
"""A histogram with more buckets than this in a STATS reply is not srpc's: it is dropped."""
_BUCKET_RANGE = range(-4000, 4001)
"""Bucket numbers a latency can have (1 ns is about -690, a day about 900); a histogram with
others is dropped (their representatives would overflow a float)."""


def schema_name(name: str) -> str:
    """``name`` as the schemas allow a service or endpoint name (``[a-zA-Z0-9_-]+``): srpc's
    names are identifiers and pass unchanged; any other character becomes ``_``."""
    if _NAME.match(name):
        return name
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name) or "_"


def semver(version: str) -> str:
    """``version`` as a semantic version the schemas accept: ``0.1.0`` stays, a PEP 440
    ``0.2.0.dev3`` or ``1.0rc1`` becomes ``0.2.0-dev3`` or ``1.0.0-rc1``."""
    if _SEMVER.match(version):
        return version
    m = _RELEASE.match(version.strip())
    if m is None:
        return "0.0.0"
    release = ".".join(str(int(x or 0)) for x in m.group(1, 2, 3))
    parts = [p for p in re.split(r"[^0-9a-zA-Z-]+", m.group(4)) if p]
    tail = ".".join(str(int(p)) if p.isdigit() else p for p in parts)
    candidate = f"{release}-{tail}" if tail else release
    return candidate if _SEMVER.match(candidate) else release


def control_subjects(verb: str, name: str, instance_id: str) -> tuple[str, str, str]:
    """The three subjects an instance answers ``verb`` on: all services, its name, itself."""
    return (f"{PREFIX}.{verb}", f"{PREFIX}.{verb}.{name}", f"{PREFIX}.{verb}.{name}.{instance_id}")


def _rfc3339(moment: datetime.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    utc = moment.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$")


def _parse_rfc3339(text: str) -> datetime.datetime | None:
    """An RFC 3339 time (Go sends nanoseconds, more digits than ``fromisoformat`` takes)."""
    m = _TIMESTAMP.match(text)
    if m is None:
        return None
    base, frac, zone = m.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.datetime.fromisoformat(f"{base}.{(frac or '0')[:6]:0<6}{zone}")
    except ValueError:
        return None
    return moment.astimezone(datetime.timezone.utc)


# -- what an instance is and what it counts -----------------------------------------------


@dataclass(frozen=True)
class ServiceIdentity:
    """One serving instance, as the service protocol describes it."""

    service: str
    """The srpc service name, e.g. ``calc``."""
    fingerprint: str
    """The interface fingerprint (full hex)."""
    instance_id: str
    """This instance's id (a NATS nuid)."""
    subject: str
    """The request subject the instance serves."""
    queue_group: str
    procedures: tuple[str, ...]
    description: str
    """Always a string (``""`` when the interface has no docstring)."""
    version: str
    """``srpc.__version__``; sent as a semantic version (:func:`semver`)."""
    address: str
    """The NATS URL the instance is connected to, without credentials."""
    started: datetime.datetime
    """UTC."""
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)


class _EndpointCounters:
    __slots__ = (
        "hist", "hist_zero", "last_error", "max_ms", "min_ms", "num_errors", "num_requests",
        "processing_ns",
    )  # fmt: skip

    def __init__(self) -> None:
        self.num_requests = 0
        self.num_errors = 0
        self.last_error = ""
        self.processing_ns = 0
        self.hist: dict[int, int] = {}
        self.hist_zero = 0
        self.min_ms = math.inf
        self.max_ms = 0.0


class ServiceStats:
    """Per-procedure counters of one instance, as ``$SRV.STATS`` reports them.

    ``record`` is called once per finished call, from the event loop's thread
    (the one the STATS replies are built on, so no lock is needed). A
    procedure that is not in ``procedures`` is not counted.
    """

    def __init__(self, procedures: Iterable[str]) -> None:
        self._endpoints: dict[str, _EndpointCounters] = {p: _EndpointCounters() for p in procedures}

    @property
    def procedures(self) -> tuple[str, ...]:
        return tuple(self._endpoints)

    def record(self, proc: str, ok: bool, latency_ms: float, error: str | None) -> None:
        counters = self._endpoints.get(proc)
        if counters is None:
            return
        counters.num_requests += 1
        if not ok:
            counters.num_errors += 1
            counters.last_error = error or "error"
        if not math.isfinite(latency_ms) or latency_ms < 0:
            latency_ms = 0.0
        counters.processing_ns += round(latency_ms * 1_000_000)
        if latency_ms < MIN_LATENCY_MS:
            counters.hist_zero += 1
        else:
            bucket = latency_bucket(latency_ms)
            counters.hist[bucket] = counters.hist.get(bucket, 0) + 1
        if latency_ms < counters.min_ms:
            counters.min_ms = latency_ms
        if latency_ms > counters.max_ms:
            counters.max_ms = latency_ms

    def endpoint_stats(self, subject: str, queue_group: str) -> list[dict[str, Any]]:
        """The ``endpoints`` of a STATS reply, one per procedure, in declaration order."""
        out = []
        for name, c in self._endpoints.items():
            n = c.num_requests
            out.append(
                {
                    "name": schema_name(name),
                    "subject": subject,
                    "queue_group": queue_group,
                    "num_requests": n,
                    "num_errors": c.num_errors,
                    "last_error": c.last_error,
                    "processing_time": c.processing_ns,
                    "average_processing_time": c.processing_ns // n if n else 0,
                    "data": {
                        "srpc_procedure": name,
                        "srpc_latency_hist": {str(k): v for k, v in sorted(c.hist.items())},
                        "srpc_latency_zero": c.hist_zero,
                        "srpc_latency_min_ms": c.min_ms if n else None,
                        "srpc_latency_max_ms": c.max_ms if n else None,
                    },
                }
            )
        return out


# -- answering -----------------------------------------------------------------------------


def _metadata(identity: ServiceIdentity) -> dict[str, str]:
    return {
        "srpc_service": identity.service,
        "srpc_fingerprint": identity.fingerprint,
        "srpc_protocol": str(PROTOCOL_VERSION),
        "srpc_address": identity.address,
        "srpc_host": identity.host,
        "srpc_pid": str(identity.pid),
    }


def _head(kind: str, identity: ServiceIdentity) -> dict[str, Any]:
    return {
        "type": kind,
        "name": schema_name(identity.service),
        "id": identity.instance_id,
        "version": semver(identity.version),
        "metadata": _metadata(identity),
    }


def ping_reply(identity: ServiceIdentity) -> dict[str, Any]:
    return _head(PING_RESPONSE_TYPE, identity)


def info_reply(identity: ServiceIdentity) -> dict[str, Any]:
    return {
        **_head(INFO_RESPONSE_TYPE, identity),
        "description": identity.description if isinstance(identity.description, str) else "",
        "endpoints": [
            {
                "name": schema_name(proc),
                "subject": identity.subject,
                "queue_group": identity.queue_group,
                "metadata": {"srpc_procedure": proc},
            }
            for proc in identity.procedures
        ],
    }


def stats_reply(identity: ServiceIdentity, stats: ServiceStats) -> dict[str, Any]:
    return {
        **_head(STATS_RESPONSE_TYPE, identity),
        "started": _rfc3339(identity.started),
        "endpoints": stats.endpoint_stats(identity.subject, identity.queue_group),
    }


class ServiceProtocol:
    """The subscriptions that answer the service protocol for one instance."""

    def __init__(self, nc: Client, identity: ServiceIdentity, stats: ServiceStats) -> None:
        self._nc = nc
        self.identity = identity
        self.stats = stats
        self._subscriptions: list[Subscription] = []
        encode = msgspec.json.encode
        self._ping = encode(ping_reply(identity))
        self._info = encode(info_reply(identity))

    @property
    def subjects(self) -> list[str]:
        name, instance_id = schema_name(self.identity.service), self.identity.instance_id
        return [s for verb in VERBS for s in control_subjects(verb, name, instance_id)]

    async def _start(self) -> None:
        handlers = {"PING": self._on_ping, "INFO": self._on_info, "STATS": self._on_stats}
        name = schema_name(self.identity.service)
        try:
            for verb, handler in handlers.items():
                for subject in control_subjects(verb, name, self.identity.instance_id):
                    self._subscriptions.append(await self._nc.subscribe(subject, cb=handler))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Unsubscribe (idempotent; a closed connection has nothing left to unsubscribe)."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for sub in subscriptions:
            # a connection closing or closed has nothing left to unsubscribe
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _reply(self, msg: Msg, data: bytes) -> None:
        # the request's payload is not read: any request, garbage included, gets the reply
        if not msg.reply:
            return
        with contextlib.suppress(Exception):  # a connection closing under us: the asker times out
            await self._nc.publish(msg.reply, data)

    async def _on_ping(self, msg: Msg) -> None:
        await self._reply(msg, self._ping)

    async def _on_info(self, msg: Msg) -> None:
        await self._reply(msg, self._info)

    async def _on_stats(self, msg: Msg) -> None:
        await self._reply(msg, msgspec.json.encode(stats_reply(self.identity, self.stats)))


async def serve_service_protocol(
    nc: Client, identity: ServiceIdentity, stats: ServiceStats
) -> ServiceProtocol:
    """Answer ``$SRV.PING``, ``$SRV.INFO`` and ``$SRV.STATS`` (all three forms) for ``identity``
    on ``nc`` until ``await handle.stop()``."""
    handle = ServiceProtocol(nc, identity, stats)
    await handle._start()
    return handle


# -- asking --------------------------------------------------------------------------------


class _Endpoint(msgspec.Struct):
    name: str
    subject: str = ""
    queue_group: str | None = None
    metadata: dict[str, str] | None = None
    num_requests: int = 0
    num_errors: int = 0
    last_error: str | None = None
    processing_time: int = 0
    average_processing_time: int = 0
    data: Any = None


class _Reply(msgspec.Struct):
    type: str
    name: str
    id: str
    version: str = ""
    metadata: dict[str, str] | None = None
    description: str | None = None
    started: str | None = None
    endpoints: list[_Endpoint] | None = None


_decode_reply = msgspec.json.Decoder(_Reply).decode


@dataclass(frozen=True)
class InstanceInfo:
    """One running srpc instance, from its ``$SRV.INFO`` reply."""

    service: str
    fingerprint: str
    instance_id: str
    subject: str
    queue_group: str
    version: str
    address: str
    procedures: tuple[str, ...]
    description: str
    host: str
    pid: int | None
    protocol: str


@dataclass(frozen=True)
class EndpointStats:
    """One procedure's counters on one instance (times in nanoseconds, as NATS reports)."""

    procedure: str
    num_requests: int
    num_errors: int
    last_error: str
    processing_time_ns: int
    average_processing_time_ns: int
    latency_hist: dict[int, int] = field(default_factory=dict)
    """Calls per :func:`srpc.metrics.latency_bucket` bucket (empty if the reply had none)."""
    latency_zero: int = 0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None

    @property
    def has_histogram(self) -> bool:
        return sum(self.latency_hist.values()) + self.latency_zero == self.num_requests > 0


@dataclass(frozen=True)
class InstanceStats:
    """One running srpc instance's ``$SRV.STATS`` reply."""

    service: str
    fingerprint: str
    instance_id: str
    version: str
    address: str
    host: str
    pid: int | None
    started: datetime.datetime | None
    endpoints: tuple[EndpointStats, ...]

    @property
    def calls(self) -> int:
        return sum(e.num_requests for e in self.endpoints)

    @property
    def errors(self) -> int:
        return sum(e.num_errors for e in self.endpoints)


def _srpc_reply(raw: bytes, kind: str, service: str | None) -> _Reply | None:
    """The reply if it is a well-formed ``kind`` reply of an srpc instance (of ``service``)."""
    if len(raw) > _MAX_REPLY:
        return None
    try:
        reply = _decode_reply(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    meta = reply.metadata or {}
    if reply.type != kind or not reply.id or not meta.get("srpc_fingerprint"):
        return None
    if service is not None and meta.get("srpc_service", reply.name) != service:
        return None
    return reply


def _pid(meta: dict[str, str]) -> int | None:
    text = meta.get("srpc_pid", "")
    return int(text) if text.isdigit() else None


def _info(reply: _Reply) -> InstanceInfo:
    meta = reply.metadata or {}
    endpoints = reply.endpoints or []
    first = endpoints[0] if endpoints else None
    return InstanceInfo(
        service=meta.get("srpc_service", reply.name),
        fingerprint=meta["srpc_fingerprint"],
        instance_id=reply.id,
        subject=first.subject if first else "",
        queue_group=(first.queue_group or "") if first else "",
        version=reply.version,
        address=meta.get("srpc_address", ""),
        procedures=tuple((e.metadata or {}).get("srpc_procedure", e.name) for e in endpoints),
        description=reply.description or "",
        host=meta.get("srpc_host", ""),
        pid=_pid(meta),
        protocol=meta.get("srpc_protocol", ""),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _endpoint_stats(e: _Endpoint) -> EndpointStats:
    data = e.data if isinstance(e.data, dict) else {}
    hist: dict[int, int] = {}
    raw_hist = data.get("srpc_latency_hist")
    if isinstance(raw_hist, dict) and len(raw_hist) <= _MAX_HIST_BUCKETS:
        for key, count in raw_hist.items():
            try:
                bucket = int(key)
            except ValueError:
                hist = {}
                break
            if bucket not in _BUCKET_RANGE:
                hist = {}
                break
            if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                hist = {}
                break
            hist[bucket] = count
    zero = data.get("srpc_latency_zero", 0)
    if isinstance(zero, bool) or not isinstance(zero, int) or zero < 0:
        zero = 0
    proc = data.get("srpc_procedure")
    return EndpointStats(
        procedure=proc if isinstance(proc, str) and proc else e.name,
        num_requests=max(0, e.num_requests),
        num_errors=max(0, e.num_errors),
        last_error=e.last_error or "",
        processing_time_ns=max(0, e.processing_time),
        average_processing_time_ns=max(0, e.average_processing_time),
        latency_hist=hist,
        latency_zero=zero,
        latency_min_ms=_number(data.get("srpc_latency_min_ms")),
        latency_max_ms=_number(data.get("srpc_latency_max_ms")),
    )


def _stats(reply: _Reply) -> InstanceStats:
    meta = reply.metadata or {}
    return InstanceStats(
        service=meta.get("srpc_service", reply.name),
        fingerprint=meta["srpc_fingerprint"],
        instance_id=reply.id,
        version=reply.version,
        address=meta.get("srpc_address", ""),
        host=meta.get("srpc_host", ""),
        pid=_pid(meta),
        started=_parse_rfc3339(reply.started) if reply.started else None,
        endpoints=tuple(_endpoint_stats(e) for e in reply.endpoints or []),
    )


async def _gather(nc: Client, verb: str, service: str | None, timeout: float) -> list[bytes]:
    """Every reply to one ``$SRV`` request that arrives within ``timeout`` seconds."""
    subject = f"{PREFIX}.{verb}" if service is None else f"{PREFIX}.{verb}.{schema_name(service)}"
    replies: list[bytes] = []

    async def collect(msg: Msg) -> None:
        replies.append(msg.data)

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=collect)
    try:
        await nc.publish(subject, b"", reply=inbox)
        await nc.flush(timeout=max(1, math.ceil(timeout)))
        await asyncio.sleep(timeout)
    finally:
        with contextlib.suppress(Exception):  # the connection closed meanwhile
            await sub.unsubscribe()
    return replies


def _unique(replies: Iterable[_Reply]) -> list[_Reply]:
    seen: dict[str, _Reply] = {}
    for reply in replies:
        seen.setdefault(reply.id, reply)
    return list(seen.values())


async def discover(nc: Client, service: str | None, timeout: float = 0.25) -> list[InstanceInfo]:
    """The srpc instances (of ``service``, or of every service) that answer ``$SRV.INFO``
    within ``timeout`` seconds; replies of other services, and garbage, are skipped."""
    raw = await _gather(nc, "INFO", service, timeout)
    replies = _unique(r for b in raw if (r := _srpc_reply(b, INFO_RESPONSE_TYPE, service)))
    infos = [_info(r) for r in replies]
    infos.sort(key=lambda i: (i.service, i.fingerprint, i.instance_id))
    return infos


async def collect_stats(
    nc: Client, service: str | None, timeout: float = 0.25
) -> list[InstanceStats]:
    """Every srpc instance's ``$SRV.STATS`` (of ``service``, or of every service) that arrives
    within ``timeout`` seconds, per procedure; other services' replies are skipped."""
    raw = await _gather(nc, "STATS", service, timeout)
    replies = _unique(r for b in raw if (r := _srpc_reply(b, STATS_RESPONSE_TYPE, service)))
    stats = [_stats(r) for r in replies]
    stats.sort(key=lambda s: (s.service, s.fingerprint, s.instance_id))
    return stats
