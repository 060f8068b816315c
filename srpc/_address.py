"""Where a client connects and a server listens: arguments, SRPC_HOST/SRPC_PORT, defaults."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from srpc.errors import InvalidAddress

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "InvalidAddress", "is_loopback", "resolve_address"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def resolve_address(host: str | None, port: int | None) -> tuple[str, int]:
    """``(host, port)`` from the arguments, a ``tcp://h:p`` URL, the environment or defaults.

    ``host`` (or ``SRPC_HOST``) may be a name or address, ``host:port``,
    ``[v6]:port`` or ``tcp://host:port``. A bad value raises
    :class:`InvalidAddress` with a one-line message.
    """
    source = "host"
    if host is None:
        host = os.environ.get("SRPC_HOST") or DEFAULT_HOST
        source = "SRPC_HOST"
    if not isinstance(host, str):
        raise InvalidAddress(f"{source} must be a string, not {type(host).__name__}")
    host = host.strip()
    port_source = "the URL in " + source
    if "://" in host:
        host, url_port = _split_url(host, source)
    else:
        host, url_port = _split_host_port(host, source)
    if url_port is not None:
        port = url_port
    elif port is None:
        port_source = "SRPC_PORT"
        env = os.environ.get("SRPC_PORT", "").strip()
        port = _parse_port(env, "SRPC_PORT") if env else DEFAULT_PORT
    else:
        port_source = "port"
        if isinstance(port, bool) or not isinstance(port, int):
            raise InvalidAddress(f"port must be an int, not {port!r}")
    if not 0 <= port <= 65535:
        raise InvalidAddress(f"{port_source} {port} is out of range 0-65535")
    return host, port


def _parse_port(text: str, source: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise InvalidAddress(f"{source} must be a port number 0-65535, not {text!r}")
    port = int(text)
    if port > 65535:
        raise InvalidAddress(f"{source}={text} is out of range 0-65535")
    return port


def _split_url(text: str, source: str) -> tuple[str, int | None]:
    try:
        url = urlsplit(text)
        url_port = url.port
    except ValueError:
        raise InvalidAddress(
            f"{source} {text!r} is not a valid tcp://host:port URL (bad port)"
        ) from None
    if url.scheme != "tcp":
        raise InvalidAddress(
            f"{source} {text!r}: unsupported srpc URL scheme {url.scheme!r} (use tcp://host:port)"
        )
    if url.path not in ("", "/") or url.query or url.fragment:
        raise InvalidAddress(f"{source} {text!r}: a tcp:// URL is just tcp://host:port")
    return _check_host(url.hostname or DEFAULT_HOST, text, source), url_port


def _split_host_port(text: str, source: str) -> tuple[str, int | None]:
    if not text:
        return text, None  # "" binds every interface
    if text.startswith("["):  # [v6] or [v6]:port
        inside, _, rest = text[1:].partition("]")
        if not rest:
            return _check_host(inside, text, source), None
        if not rest.startswith(":"):
            raise InvalidAddress(f"{source} {text!r} is not host, host:port or [v6]:port")
        return _check_host(inside, text, source), _parse_port(rest[1:], f"the port in {source}")
    if text.count(":") == 1:  # host:port (more colons: an IPv6 address)
        name, _, port = text.partition(":")
        return _check_host(name, text, source), _parse_port(port, f"the port in {source}")
    return _check_host(text, text, source), None


def _check_host(name: str, text: str, source: str) -> str:
    if not name or any(c.isspace() or c in "/?#@" for c in name):
        raise InvalidAddress(
            f"{source} {text!r} is not a host name or address (e.g. 127.0.0.1, tcp://10.0.0.5:7000)"
        )
    return name


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
