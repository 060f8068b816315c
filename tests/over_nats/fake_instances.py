"""Fake srpc instances on a real nats-server: only the service protocol, no transport.

``ServedInstances`` runs an event loop on a thread, so synchronous code (a
``CliRunner`` invoking ``srpc services``) can ask while the instances answer.
Each instance is :func:`srpc.nats.service.serve_service_protocol` on its own
connection, with a :class:`ServiceStats` the test feeds through ``record``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

from srpc.nats.service import ServiceIdentity, ServiceProtocol, ServiceStats, serve_service_protocol

T = TypeVar("T")

FINGERPRINT_A = "a1" * 32
FINGERPRINT_B = "b2" * 32


def identity(
    service: str = "calc",
    fingerprint: str = FINGERPRINT_A,
    instance_id: str = "inst1",
    procedures: tuple[str, ...] = ("add", "sub"),
    *,
    description: str = "A calculator.",
    address: str = "nats://127.0.0.1:4222",
    pid: int = 4242,
) -> ServiceIdentity:
    return ServiceIdentity(
        service=service,
        fingerprint=fingerprint,
        instance_id=instance_id,
        subject=f"srpc.{service}.{fingerprint[:16]}",
        queue_group=f"srpc.{service}",
        procedures=procedures,
        description=description,
        version="0.1.0",
        address=address,
        started=datetime.datetime(2026, 12, 1, 11, 0, 0, 123456, tzinfo=datetime.timezone.utc),
        host="testhost",
        pid=pid,
    )


class ServedInstances:
    """Instances served on a background event loop, each on its own NATS connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._connections: list[Client] = []
        self._handles: dict[str, ServiceProtocol] = {}
        self.stats: dict[str, ServiceStats] = {}
        self._micro: list[Any] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _connect(self) -> Client:
        nc = await nats.connect(self.url, allow_reconnect=False)
        self._connections.append(nc)
        return nc

    def add(self, ident: ServiceIdentity) -> ServiceIdentity:
        async def serve() -> None:
            stats = ServiceStats(ident.procedures)
            nc = await self._connect()
            self._handles[ident.instance_id] = await serve_service_protocol(nc, ident, stats)
            await nc.flush()
            self.stats[ident.instance_id] = stats

        self.run(serve())
        return ident

    def record(
        self,
        instance_id: str,
        proc: str,
        ok: bool = True,
        latency_ms: float = 1.0,
        error: str | None = None,
    ) -> None:
        stats = self.stats[instance_id]

        async def record() -> None:
            stats.record(proc, ok, latency_ms, error)

        self.run(record())

    def stop(self, instance_id: str) -> None:
        self.run(self._handles.pop(instance_id).stop())

    def add_micro(self, name: str, description: str | None = None) -> str:
        """A plain nats-py micro service named ``name`` (not srpc); returns its id."""
        from nats import micro

        async def serve() -> str:
            nc = await self._connect()
            service = await micro.add_service(
                nc, name=name, version="1.0.0", description=description
            )

            async def echo(request: Any) -> None:
                await request.respond(request.data)

            await service.add_endpoint(name="echo", handler=echo)
            self._micro.append(service)
            await nc.flush()
            return str(service.id)

        return self.run(serve())

    def __enter__(self) -> ServedInstances:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        async def close() -> None:
            for handle in self._handles.values():
                await handle.stop()
            for service in self._micro:
                with contextlib.suppress(Exception):
                    await service.stop()
            for nc in self._connections:
                with contextlib.suppress(Exception):  # the NATS server may be gone already
                    await nc.close()

        try:
            self.run(close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


@contextmanager
def served_instances(url: str) -> Iterator[ServedInstances]:
    served = ServedInstances(url)
    try:
        yield served
    finally:
        served.close()
