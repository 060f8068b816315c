"""The NATS mapping's plain parts: subject names, a message's head, chunks, the target URL.

Nothing here does I/O or imports nats-py. The byte-level description is in
docs/PROTOCOL.md ("srpc over NATS").
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from srpc.errors import InvalidAddress, SrpcError
from srpc.protocol import ErrorKind, ErrorReply, encode_payload

__all__ = [
    "ACK",
    "CHUNK",
    "TOKEN_HEADER",
    "WAIT",
    "Reassembly",
    "Subjects",
    "chunks",
    "error_payload",
    "message_head",
    "public_address",
]

ACK: Final = b""
"""An empty payload: on a client's call subject, "this instance holds the call" (the NATS
reply field names the instance's subject); on an instance or client probe subject, a probe."""

WAIT: Final = b"\xc0"
"""A MessagePack nil, on a client's call subject: the answer to ``who`` from an instance that
has received requests it has not read yet: the call may be among them, keep waiting."""

CHUNK: Final = 0xC1
"""First byte of a chunk (0xc1 is never used by MessagePack, so no srpc message starts so)."""
CHUNK_HEAD: Final = 9
"""0xc1, the whole message's length (uint32 BE), this chunk's offset in it (uint32 BE)."""

TOKEN_HEADER: Final = "Srpc-Token"
"""The NATS header carrying srpc's own token (only when the client has one)."""

FINGERPRINT_CHARS: Final = 16
"""Hex characters of the interface fingerprint in the service's subject."""

HEADROOM: Final = 1024
"""Bytes kept free under ``max_payload`` for the NATS headers (the token) of a chunk."""


class Subjects:
    """The subjects of one service and fingerprint.

    - ``service``: ``srpc.<service>.<fp16>``, served in the queue group of the same
      name: a Hello or a Request reaches one instance of this fingerprint only;
    - ``instance(id)``: ``srpc.<service>.<fp16>.<instance id>``: one instance's own
      subject (a call's later messages, liveness probes);
    - ``who``: ``srpc.<service>.<fp16>.who``: every instance (no queue group), asked
      which of them holds a client's calls.
    """

    __slots__ = ("fingerprint", "name", "service", "who")

    def __init__(self, name: str, fingerprint: str) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self.service = f"srpc.{name}.{fingerprint[:FINGERPRINT_CHARS]}"
        self.who = f"{self.service}.who"

    def instance(self, instance_id: str) -> str:
        return f"{self.service}.{instance_id}"


_UINT_WIDTHS: Final = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}


def message_head(payload: bytes | bytearray | memoryview) -> tuple[int, int]:
    """``(tag, id)`` of an encoded srpc message (its first two array elements, read without
    decoding the rest); ``(-1, -1)`` for bytes that do not start like one."""
    size = len(payload)
    if size < 3 or not 0x91 <= payload[0] <= 0x9F or payload[1] >= 0x80:
        return -1, -1
    tag = payload[1]
    first = payload[2]
    if first < 0x80:
        return tag, first
    width = _UINT_WIDTHS.get(first)
    if width is None or size < 3 + width:
        return tag, -1
    return tag, int.from_bytes(payload[3 : 3 + width], "big")


def chunks(payload: bytes | bytearray | memoryview, limit: int) -> list[bytes]:
    """``payload`` cut into chunk messages of at most ``limit`` bytes each."""
    total = len(payload)
    step = max(limit - CHUNK_HEAD, 1)
    head = bytes([CHUNK]) + total.to_bytes(4, "big")
    with memoryview(payload) as view:
        return [
            head + offset.to_bytes(4, "big") + view[offset : offset + step]
            for offset in range(0, total, step)
        ]


_EMPTY_MAP = msgspec.Raw(b"\x80")
_encoder = msgspec.msgpack.Encoder()


def error_payload(id: int, error: SrpcError) -> bytes:
    """The ErrorReply of call ``id`` that makes its caller raise ``error`` (an srpc error the
    transport found: no responders, a lost instance), without the length prefix."""
    message = str(error)
    return encode_payload(
        ErrorReply(
            id,
            ErrorKind.SRPC,
            "srpc.errors",
            type(error).__qualname__,
            message,
            msgspec.Raw(_encoder.encode([message])),
            "",
            _EMPTY_MAP,  # no attributes: an OSError's would override its message
        )
    )


class _Partial:
    __slots__ = ("data", "started", "total")

    def __init__(self, total: int) -> None:
        self.total = total
        self.data = bytearray()
        self.started = time.monotonic()


class Reassembly:
    """Chunked messages being put back together, by key (a subject); bounded in bytes.

    ``add`` returns the whole message once its last chunk arrived, ``None``
    before; raises ``ValueError`` for a chunk that does not fit (out of order,
    over ``max_frame``, past the bytes in reassembly): that message is dropped.
    """

    def __init__(self, max_frame: int, max_bytes: int) -> None:
        self.max_frame = max_frame
        self.max_bytes = max_bytes
        self.partial: dict[str, _Partial] = {}
        self.held = 0

    def add(self, key: str, chunk: bytes | bytearray | memoryview) -> bytes | None:
        if len(chunk) < CHUNK_HEAD:
            raise ValueError("a chunk shorter than its head")
        total = int.from_bytes(chunk[1:5], "big")
        offset = int.from_bytes(chunk[5:9], "big")
        partial = self.partial.get(key)
        if partial is None:
            if offset != 0:
                raise ValueError(f"a chunk at offset {offset} of a message not begun")
            if total > self.max_frame:
                raise ValueError(f"a chunked message of {total} bytes, over {self.max_frame}")
            self.expire()
            if self.held + total > self.max_bytes:
                raise ValueError(f"{self.held} bytes in reassembly already: no room for {total}")
            partial = self.partial[key] = _Partial(total)
            self.held += total
        elif partial.total != total or offset != len(partial.data):
            self.drop(key)
            raise ValueError(f"a chunk at offset {offset} does not follow ({len(partial.data)})")
        partial.data += chunk[CHUNK_HEAD:]
        if len(partial.data) > total:
            self.drop(key)
            raise ValueError("chunks longer than their message")
        if len(partial.data) < total:
            return None
        self.drop(key)
        return bytes(partial.data)

    def drop(self, key: str) -> None:
        partial = self.partial.pop(key, None)
        if partial is not None:
            self.held -= partial.total

    def expire(self, age: float = 60.0) -> None:
        """Forget messages begun over ``age`` seconds ago (their sender is gone)."""
        if not self.partial:
            return
        now = time.monotonic()
        for key in [k for k, p in self.partial.items() if now - p.started > age]:
            self.drop(key)


@dataclass(frozen=True)
class Target:
    """A ``nats://`` target: what to give nats-py, and how to name it to people."""

    url: str
    """As given (credentials included): nats-py reads user, password or token from it."""
    address: str
    """The URL without credentials (printed, logged, advertised)."""
    options: dict[str, Any]
    """Keyword arguments for ``nats.connect`` (``nats_options`` plus ``tls`` from ``ssl=``)."""


def public_address(url: str) -> str:
    """``url`` without user, password or token: ``nats://user:pw@h:4222`` -> ``nats://h:4222``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return f"{parts.scheme}://{netloc}"


def parse_target(url: str, options: dict[str, Any] | None, ssl: Any) -> Target:
    """Check ``url`` (``nats://[cred@]host[:port]``, several comma-separated allowed) and
    gather the options; raises :class:`InvalidAddress`."""
    servers = [part.strip() for part in url.split(",")]
    addresses = []
    for server in servers:
        try:
            parts = urllib.parse.urlsplit(server)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise InvalidAddress(f"invalid NATS address {server!r}: {exc}") from None
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise InvalidAddress(
                f"invalid NATS address {server!r}: expected nats://host:port "
                "(or nats://token@host:port, nats://user:password@host:port)"
            )
        if parts.path not in ("", "/"):
            raise InvalidAddress(f"invalid NATS address {server!r}: no path expected")
        addresses.append(public_address(server))
    merged = dict(options or {})
    if ssl is not None and ssl is not False and "tls" not in merged:
        if ssl is True:
            import ssl as _ssl

            merged["tls"] = _ssl.create_default_context()
        else:
            merged["tls"] = ssl
    return Target(url, ",".join(addresses), merged)
