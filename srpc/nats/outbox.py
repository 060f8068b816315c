"""One ordered writer per NATS connection.

Sessions and the dispatcher answer from plain callbacks on the event loop,
where nothing can be awaited; nats-py's ``publish`` is a coroutine. It
normally finishes without suspending (it appends the message to nats-py's
pending buffer and kicks nats-py's flusher), so :meth:`Outbox.post` runs it
to completion on the spot, saving a task switch per message. When it does
suspend (nats-py's buffer or flusher queue is full), that publish and every
message posted after it are finished by one writer task, in order: the
chunks of a message, and a call's messages, leave in the order they were
made.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Outbox"]


class Outbox:
    """Messages to publish on ``nc``, in order."""

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
        self.publish = nc.publish
        self.queue: collections.deque[tuple[str, bytes, str]] = collections.deque()
        self.suspended: tuple[Coroutine[Any, Any, None], Any] | None = None
        self.busy = False
        """The writer task has work: what is posted meanwhile queues behind it."""
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.task = loop.create_task(self._write())

    def post(self, subject: str, payload: bytes, reply: str = "") -> None:
        """Publish one message, or queue it behind those still waiting (on the loop's thread)."""
        if self.closed:
            return
        if self.busy:
            self.queue.append((subject, payload, reply))
            return
        coro = self.publish(subject, payload, reply=reply, headers=self.headers)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return  # the usual case: published without suspending
        except Exception as exc:
            self._failed(exc)
            return
        self.suspended = (coro, yielded)
        self.busy = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _failed(self, exc: Exception) -> None:
        self.failed(exc)
        if self.nc.is_closed:
            self.closed = True

    async def _write(self) -> None:
        queue = self.queue
        while not self.closed:
            if not self.busy:
                self.waiter = self.loop.create_future()
                await self.waiter
                continue
            if self.suspended is not None:
                coro, yielded = self.suspended
                self.suspended = None
                await self._finish(coro, yielded)
            while queue and not self.closed:
                subject, payload, reply = queue.popleft()
                try:
                    await self.publish(subject, payload, reply=reply, headers=self.headers)
                except Exception as exc:
                    self._failed(exc)
            self.busy = False

    async def _finish(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        """Drive a publish that suspended to its end (as a task would have)."""
        try:
            while True:
                if yielded is None:  # a bare yield: just let the loop turn
                    await asyncio.sleep(0)
                else:  # a future: its outcome reaches the coroutine when it resumes
                    await asyncio.wait({yielded})
                yielded = coro.send(None)
        except StopIteration:
            return
        except Exception as exc:
            self._failed(exc)
        finally:
            coro.close()

    async def drain(self, timeout: float) -> None:
        """Wait until what is queued is handed to nats-py and flushed (at most ``timeout``)."""
        deadline = self.loop.time() + timeout
        while self.busy and not self.task.done() and self.loop.time() < deadline:
            await asyncio.sleep(0.001)
        if not self.nc.is_closed:
            await self.nc.flush(max(deadline - self.loop.time(), 0.05))

    def close(self) -> None:
        self.closed = True
        self.task.cancel()
        suspended, self.suspended = self.suspended, None
        if suspended is not None:
            with contextlib.suppress(Exception):
                suspended[0].close()
