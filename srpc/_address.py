"""Where a client connects and a server listens: arguments, SRPC_HOST/SRPC_PORT, defaults."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "resolve_address"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


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
