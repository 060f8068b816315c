"""The one place the transport talks to the NATS service protocol (``srpc.nats.service``).

An instance announces itself (``$SRV.PING``/``INFO``/``STATS``) and counts
its finished calls; a client that finds no responders asks which
fingerprints of its service are served. When ``srpc.nats.service`` is not
there, instances do not announce themselves and a client only ever says
``ConnectError``.
"""

from __future__ import annotations

import datetime
import importlib
import logging
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from srpc._version import __version__

__all__ = ["Announcement", "fingerprints_served"]

log = logging.getLogger("srpc.server")


def _service() -> ModuleType | None:
    try:
        return importlib.import_module("srpc.nats.service")
    except ImportError:
        return None


class Announcement:
    """One instance's part in the service protocol: its identity, stats and subscriptions."""

    def __init__(
        self,
        *,
        service: str,
        fingerprint: str,
        instance_id: str,
        subject: str,
        procedures: Iterable[str],
        description: str,
        address: str,
    ) -> None:
        self.module = _service()
        self.stats: Any = None
        self.identity: Any = None
        self.handle: Any = None
        procedures = tuple(procedures)
        if self.module is None:
            return
        self.identity = self.module.ServiceIdentity(
            service=service,
            fingerprint=fingerprint,
            instance_id=instance_id,
            subject=subject,
            queue_group=subject,
            procedures=procedures,
            description=description or "",
            version=__version__,
            address=address,
            started=datetime.datetime.now(datetime.timezone.utc),
        )
        self.stats = self.module.ServiceStats(procedures)

    def record(self, proc: str, ok: bool, latency_ms: float, error: str | None) -> None:
        stats = self.stats
        if stats is not None:
            stats.record(proc, ok, latency_ms, error)

    async def start(self, nc: Any) -> None:
        if self.module is None:
            return
        try:
            self.handle = await self.module.serve_service_protocol(nc, self.identity, self.stats)
        except Exception:  # the calls are served all the same
            log.exception("could not take part in the NATS service protocol")

    async def stop(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            try:
                await handle.stop()
            except Exception:
                log.debug("stopping the service protocol failed", exc_info=True)


async def fingerprints_served(nc: Any, service: str, timeout: float = 0.25) -> list[str]:
    """The fingerprints the running instances of ``service`` serve (distinct, sorted)."""
    module = _service()
    if module is None:
        return []
    try:
        found = await module.discover(nc, service, timeout=timeout)
    except Exception:
        log.debug("discovering %s failed", service, exc_info=True)
        return []
    return sorted({info.fingerprint for info in found if info.service == service})
