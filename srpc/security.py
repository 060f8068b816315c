"""Access control: TLS contexts, the shared handshake token, and resource limits.

Everything a server needs to decide whether a peer may hold its resources
lives here, so the transports in :mod:`srpc.server` and :mod:`srpc.client`
only apply it. See ``docs/SECURITY.md`` for the threat model.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from srpc.framing import DEFAULT_MAX_FRAME as _FRAMING_DEFAULT_MAX_FRAME
from srpc.guards import (
    DEFAULT_FAILED_HANDSHAKE_BURST,
    DEFAULT_FAILED_HANDSHAKE_RATE,
    DEFAULT_FRAME_GRACE,
    DEFAULT_MAX_CONNECTIONS_PER_PEER,
    DEFAULT_MIN_FRAME_RATE,
)

__all__ = [
    "DEFAULT_DISPATCH_BUDGET",
    "DEFAULT_FAILED_HANDSHAKE_BURST",
    "DEFAULT_FAILED_HANDSHAKE_RATE",
    "DEFAULT_FRAME_GRACE",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_CONNECTIONS_PER_PEER",
    "DEFAULT_MAX_FRAME",
    "DEFAULT_MAX_HANDSHAKING",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_MAX_UNSENT_BYTES",
    "DEFAULT_MIN_FRAME_RATE",
    "HELLO_MAX_FRAME",
    "TOKEN_ENV",
    "Limits",
    "client_ssl_context",
    "resolve_token",
    "server_ssl_context",
    "set_nodelay",
    "token_matches",
]

#: Largest frame a receiver accepts (SPEC §6): 64 MiB.
DEFAULT_MAX_FRAME = _FRAMING_DEFAULT_MAX_FRAME
#: Largest frame a server reads before the handshake succeeds: a Hello is tiny.
HELLO_MAX_FRAME = 64 * 1024
#: Connections a server holds at once; the next one is refused with a reason.
DEFAULT_MAX_CONNECTIONS = 1024
#: Calls in flight on one connection; past it the server stops reading that socket.
DEFAULT_MAX_IN_FLIGHT = 128
#: Seconds a new connection has to finish TLS and the srpc handshake.
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
#: Seconds a connection may sit with no call in flight and nothing received.
DEFAULT_IDLE_TIMEOUT = 300.0
#: Connections still in their TLS or srpc handshake, counted apart from ``max_connections``;
#: past it the oldest of them is closed (a handshake flood cannot lock anyone out).
DEFAULT_MAX_HANDSHAKING = 256
#: Bytes of large requests (64 KiB and up) one connection may have read and not yet answered
#: (queued or running); past it the server stops reading that connection.
DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024
#: Messages of one connection taken per turn of the event loop; the rest of a read waits, in
#: order, for the next turn (one client's pipeline cannot hold the loop from the others).
DEFAULT_DISPATCH_BUDGET = 256
#: Bytes of answers written to one connection and not yet sent; past it the connection is
#: dropped (Redis's output-buffer limit). Twice the default ``max_frame``.
DEFAULT_MAX_UNSENT_BYTES = 128 * 1024 * 1024

#: Environment variable read when no ``token=`` is passed.
TOKEN_ENV = "SRPC_TOKEN"

_PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Limits:
    """The resources one client may make a server hold, each with a documented default.

    A server's worst-case memory is bounded by roughly
    ``max_connections * (max_frame + max_in_flight * largest reply)``;
    lower ``max_frame`` when procedures only move small values.
    ``None`` for a timeout disables it (not recommended beyond loopback).
    """

    max_frame: int = DEFAULT_MAX_FRAME
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER
    max_handshaking: int = DEFAULT_MAX_HANDSHAKING
    max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES
    max_unsent_bytes: int = DEFAULT_MAX_UNSENT_BYTES
    frame_grace: float = DEFAULT_FRAME_GRACE
    min_frame_rate: float = DEFAULT_MIN_FRAME_RATE
    failed_handshake_rate: float = DEFAULT_FAILED_HANDSHAKE_RATE
    failed_handshake_burst: float = DEFAULT_FAILED_HANDSHAKE_BURST
    dispatch_budget: int = DEFAULT_DISPATCH_BUDGET

    def __post_init__(self) -> None:
        for name in ("frame_grace", "min_frame_rate", "failed_handshake_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        burst = self.failed_handshake_burst
        if isinstance(burst, bool) or not isinstance(burst, (int, float)) or not burst >= 1:
            raise ValueError(f"failed_handshake_burst must be at least 1, got {burst!r}")
        for name in (
            "max_frame",
            "max_connections",
            "max_in_flight",
            "max_connections_per_peer",
            "max_handshaking",
            "max_pending_bytes",
            "max_unsent_bytes",
            "dispatch_budget",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("handshake_timeout", "idle_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(
                    f"{name} must be a positive number of seconds or None, got {value!r}"
                )


def resolve_token(token: str | bytes | None) -> bytes | None:
    """The token to use: ``token`` if given, else ``$SRPC_TOKEN``, else ``None`` (no token).

    An empty string counts as no token, so ``SRPC_TOKEN=`` disables it.
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV)
    if token is None:
        return None
    raw = token.encode("utf-8") if isinstance(token, str) else bytes(token)
    return raw or None


def token_matches(expected: bytes | None, offered: str | bytes | None) -> bool:
    """Whether ``offered`` satisfies a server that expects ``expected``.

    Compared in constant time so the reply's timing says nothing about how
    much of a guess was right. A server with no token accepts anything.
    """
    if expected is None:
        return True
    if offered is None:
        return False
    raw = offered.encode("utf-8") if isinstance(offered, str) else bytes(offered)
    return hmac.compare_digest(expected, raw)


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn off Nagle's algorithm on a TCP socket (a request or reply is one write; waiting
    to coalesce it would add a round trip's delay). Anything else is left alone."""
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def server_ssl_context(
    certfile: _PathLike,
    keyfile: _PathLike | None = None,
    cafile: _PathLike | None = None,
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting ``certfile``/``keyfile``.

    With ``cafile``, client certificates signed by that CA are verified when
    offered; ``require_client_cert=True`` (mutual TLS) refuses clients that
    offer none.
    """
    if require_client_cert and cafile is None:
        raise ValueError("require_client_cert=True needs cafile= to verify client certificates")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(_path(certfile), _path(keyfile) if keyfile is not None else None)
    if cafile is not None:
        context.load_verify_locations(cafile=_path(cafile))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def client_ssl_context(
    cafile: _PathLike | None = None,
    certfile: _PathLike | None = None,
    keyfile: _PathLike | None = None,
) -> ssl.SSLContext:
    """A TLS 1.2+ client context that verifies the server and its host name.

    ``cafile`` is the CA that signed the server's certificate; without it the
    system's trusted CAs are used. ``certfile``/``keyfile`` present a client
    certificate for servers that require one.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cafile is not None:
        context.load_verify_locations(cafile=_path(cafile))
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if certfile is not None:
        context.load_cert_chain(_path(certfile), _path(keyfile) if keyfile is not None else None)
    elif keyfile is not None:
        raise ValueError("keyfile= needs certfile=")
    return context


def _path(value: _PathLike) -> str:
    return str(Path(value))
