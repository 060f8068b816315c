"""What ``srpc services`` and ``srpc-metrics nats://...`` share: the target, the connection,
and asking the service protocol from synchronous code.

nats-py is imported only when a connection is made, so the command line loads
without it; a missing nats-py is a clear error, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from srpc.nats.service import InstanceInfo, InstanceStats, collect_stats, discover

if TYPE_CHECKING:
    from nats.aio.client import Client

__all__ = [
    "NatsTarget",
    "NatsUnavailable",
    "StatsPoller",
    "ask_services",
    "parse_nats_target",
]

T = TypeVar("T")

DEFAULT_NATS_PORT = 4222


class NatsUnavailable(Exception):
    """The NATS server cannot be used: not reachable, refused us, or nats-py is missing."""


@dataclass(frozen=True)
class NatsTarget:
    """``nats://[credentials@]host[:port][/SERVICE]`` taken apart."""

    url: str
    """What nats-py connects to (credentials included: nats-py reads them from the URL)."""
    address: str
    """The same without credentials, for messages."""
    service: str | None


def parse_nats_target(target: str) -> NatsTarget:
    """Raise ``ValueError`` (one line) unless ``target`` is a ``nats://`` or ``tls://`` URL."""
    text = target.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{target!r} is not a valid nats://host:port URL (bad port)") from None
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise ValueError(f"{target!r} is not a nats://host:port URL")
    if parts.query or parts.fragment:
        raise ValueError(
            f"{target!r}: a NATS target is nats://host:port or nats://host:port/SERVICE"
        )
    service = parts.path.strip("/") or None
    if service is not None and "/" in service:
        raise ValueError(f"{target!r}: the path is one service name (nats://host:port/SERVICE)")
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    netloc = f"{shown}:{port or DEFAULT_NATS_PORT}"
    creds = parts.netloc.rpartition("@")[0]
    url = urlunsplit((parts.scheme, f"{creds}@{netloc}" if creds else netloc, "", "", ""))
    return NatsTarget(url, urlunsplit((parts.scheme, netloc, "", "", "")), service)


async def connect(target: NatsTarget, timeout: float) -> Client:
    """A connection to ``target``'s NATS server, or :class:`NatsUnavailable` saying why not."""
    try:
        import nats
        from nats.errors import Error as NatsError
        from nats.errors import NoServersError
    except ImportError:
        raise NatsUnavailable(
            "nats-py is not installed: pip install 'srpc[nats]' to talk to a NATS server"
        ) from None

    failures: list[BaseException] = []

    async def note(exc: Exception) -> None:
        """nats-py reports every failed attempt here; the command reports the outcome once."""
        failures.append(exc)

    try:
        return await asyncio.wait_for(
            nats.connect(
                target.url,
                name="srpc-tools",
                allow_reconnect=False,
                # nats-py gives up on a server after this many retries (0 would retry forever)
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                connect_timeout=max(1, math.ceil(timeout)),
                error_cb=note,
            ),
            timeout=timeout + 1,
        )
    except (OSError, NatsError, asyncio.TimeoutError) as exc:
        cause: BaseException = exc
        if isinstance(exc, NoServersError | asyncio.TimeoutError) and failures:
            cause = failures[0]
        reason = str(cause).strip() or type(cause).__name__
        if isinstance(cause, asyncio.TimeoutError):
            reason = f"no answer within {timeout:g} s"
        raise NatsUnavailable(
            f"cannot reach the NATS server at {target.address}: {reason}"
        ) from None


async def ask_services(
    target: NatsTarget, timeout: float
) -> tuple[list[InstanceInfo], list[InstanceStats]]:
    """INFO and STATS of every srpc instance (of ``target.service``, if given)."""
    nc = await connect(target, timeout)
    try:
        infos, stats = await asyncio.gather(
            discover(nc, target.service, timeout), collect_stats(nc, target.service, timeout)
        )
    except Exception as exc:  # the connection broke while we asked
        raise NatsUnavailable(
            f"lost the NATS server at {target.address}: {exc or type(exc).__name__}"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    return infos, stats


class StatsPoller:
    """A NATS connection on an event loop of its own thread, asked from synchronous code
    (the live dashboard's loop): ``poll()`` returns every instance's STATS."""

    def __init__(self, target: NatsTarget, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="srpc-metrics-nats", daemon=True
        )
        self._thread.start()
        self._nc: Client | None = None
        try:
            self._nc = self._run(connect(target, timeout), timeout + 5)
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def poll(self, wait: float | None = None) -> list[InstanceStats]:
        """The STATS replies that arrive within ``wait`` seconds (default: the timeout).

        A connection that broke (the NATS server restarted) is made again here;
        :class:`NatsUnavailable` while it cannot be.
        """
        if self._nc is None or self._nc.is_closed:
            self._drop()
            self._nc = self._run(connect(self.target, self.timeout), self.timeout + 5)
        seconds = self.timeout if wait is None else wait
        try:
            return self._run(collect_stats(self._nc, self.target.service, seconds), seconds + 5)
        except Exception as exc:
            self._drop()
            raise NatsUnavailable(
                f"lost the NATS server at {self.target.address}: {exc or type(exc).__name__}"
            ) from None

    def _drop(self) -> None:
        if self._nc is not None:
            nc, self._nc = self._nc, None
            with contextlib.suppress(Exception):  # closing a connection that already broke
                self._run(nc.close(), 5)

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def close(self) -> None:
        self._drop()
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()
