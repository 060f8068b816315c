"""srpc over NATS: ``nats://host:port`` targets for the server stub and both client stubs.

A server stub constructed with a ``nats://`` URL serves through that NATS
server instead of listening on a port; any number of instances serve one
service together (a queue group). A client stub constructed with one calls
the service with no server address at all. The sessions, the dispatcher
and the stream objects are the ones TCP uses; the modules here only move
srpc messages (payloads without the length prefix) between NATS subjects:

- :mod:`srpc.nats.wire`: subjects, the message head, chunks;
- :mod:`srpc.nats.client`: a client's NATS link, seen by the client stubs as a
  byte stream (sync) or an asyncio transport (async);
- :mod:`srpc.nats.server`: an instance's NATS loop feeding one
  :class:`~srpc.session.ServerSession` per client to the dispatcher;
- :mod:`srpc.nats.discovery`: the one place the transport talks to the NATS
  service protocol;
- :mod:`srpc.nats.service`: that protocol (``$SRV.PING``, ``INFO``, ``STATS``)
  and discovery.

This package imports nats-py only when a ``nats://`` target is used:
``import srpc`` stays free of it. The mapping is in docs/PROTOCOL.md
("srpc over NATS"), the user's view in docs/NATS.md.
"""

from __future__ import annotations

__all__ = ["SCHEME", "is_nats"]

SCHEME = "nats://"
TLS_SCHEME = "tls://"


def is_nats(host: str | None) -> bool:
    """Whether ``host`` is a NATS target (``nats://...`` or ``tls://...``)."""
    return host is not None and (host.startswith(SCHEME) or host.startswith(TLS_SCHEME))
