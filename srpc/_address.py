"""Where a client connects and a server listens: arguments, SRPC_HOST/SRPC_PORT, defaults."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "is_loopback", "resolve_address"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def resolve_address(host: str | None, port: int | None) -> tuple[str, int]:
    """``(host, port)`` from the arguments, a ``tcp://h:p`` URL, the environment or defaults."""
    if host is None:
        host = os.environ.get("SRPC_HOST") or DEFAULT_HOST
    if "://" in host:
        url = urlsplit(host)
        if url.scheme != "tcp":
            raise ValueError(f"unsupported srpc URL scheme {url.scheme!r} in {host!r} (use tcp://)")
        if url.port is not None:
            port = url.port
        host = url.hostname or DEFAULT_HOST
    if port is None:
        env = os.environ.get("SRPC_PORT")
        if env:
            try:
                port = int(env)
            except ValueError:
                raise ValueError(f"SRPC_PORT must be a port number, not {env!r}") from None
        else:
            port = DEFAULT_PORT
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return host, port


def is_loopback(host: str) -> bool:
    """True when ``host`` (an address or name a server binds) reaches this machine only.

    ``""``, ``0.0.0.0`` and ``::`` (every interface) and any other name are beyond loopback;
    no DNS lookup is made.
    """
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
