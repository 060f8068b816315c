"""One ordered writer per NATS connection.

Sessions and the dispatcher answer from plain callbacks on the event loop,
where nothing can be awaited; nats-py's ``publish`` is a coroutine. Each
message is queued here and one task publishes the queue in order, so the
chunks of a message, and a call's messages, leave in the order they were
made. A burst of answers is published in one turn of that task.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

__all__ = ["Outbox"]


class Outbox:
    """Messages waiting to be published on ``nc``, in order."""

    def __init__(
        self,
        nc: Any,
        loop: asyncio.AbstractEventLoop,
        failed: Callable[[Exception], None],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.nc = nc
        self.loop = loop
        self.failed = failed
        self.headers = headers
        self.queue: collections.deque[tuple[str, bytes, str]] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.task = loop.create_task(self._write())

    def post(self, subject: str, payload: bytes, reply: str = "") -> None:
        """Queue one message (on the loop's thread)."""
        if self.closed:
            return
        self.queue.append((subject, payload, reply))
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _write(self) -> None:
        queue = self.queue
        publish = self.nc.publish
        headers = self.headers
        while not self.closed:
            if not queue:
                self.waiter = self.loop.create_future()
                await self.waiter
                continue
            subject, payload, reply = queue.popleft()
            try:
                await publish(subject, payload, reply=reply, headers=headers)
            except Exception as exc:
                if self.closed:
                    return
                self.failed(exc)
                if self.nc.is_closed:
                    self.closed = True
                    return

    async def drain(self, timeout: float) -> None:
        """Wait until what is queued is handed to nats-py and flushed (at most ``timeout``)."""
        deadline = self.loop.time() + timeout
        while self.queue and not self.task.done() and self.loop.time() < deadline:
            await asyncio.sleep(0.001)
        if not self.nc.is_closed:
            await self.nc.flush(max(deadline - self.loop.time(), 0.05))

    def close(self) -> None:
        self.closed = True
        self.task.cancel()
