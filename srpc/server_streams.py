"""The server's side of streams: a result stream's producer and a streamed argument's reader.

Flow control is per call and per direction, in items and bytes
(``STREAM_WINDOW_ITEMS`` / ``STREAM_WINDOW_BYTES``, see docs/PROTOCOL.md):
a sender starts with one window of credit and may send while it has some
left; the receiver grants credit back (a ``Credit`` message) as the items
are consumed, half a window at a time. A slow consumer therefore never
makes the other side buffer more than a window, and other calls on the
connection keep flowing.

:class:`ResultStream` runs a generator implementation. A sync generator is
pulled on a worker thread only while it has credit; out of credit the
stream parks without holding a thread and the next ``Credit`` resumes it.
Items cross to the event loop in batches (a list the loop drains; the
worker schedules a drain only when the list was empty), so a fast
producer costs one loop wake-up per batch while a slow one's items still
leave as they are made. An async generator runs as a task on the loop.

Cancellation (``Cancel`` from the caller, the call's deadline, or the
server's shutdown) closes a sync generator at its ``yield`` (on a worker
thread, so its ``finally`` may block) and cancels an async one's task, whose
generator then gets ``aclose()``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from srpc.context import _current
from srpc.errors import ProtocolError, SrpcError
from srpc.framing import join_frame
from srpc.protocol import (
    STREAM_WINDOW_BYTES,
    STREAM_WINDOW_ITEMS,
    Credit,
    StreamEnd,
    encode_message,
    stream_item_head,
)
from srpc.remote_errors import exception_name

if TYPE_CHECKING:
    from srpc.dispatch import Dispatcher, _Call

__all__ = ["AsyncArgumentStream", "ResultStream", "SyncArgumentStream"]

_BATCH = 256  # items a worker pulls before it lets the loop see them, at the most


class CallCancelled(SrpcError):
    """The caller cancelled the call (or its deadline passed) while it read a streamed argument."""


class ResultStream:
    """Produces call ``call``'s streamed result within the credit the caller grants."""

    def __init__(
        self, dispatcher: Dispatcher, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.dispatcher = dispatcher
        self.call = call
        self.args = args
        self.kwargs = kwargs
        self.lock = threading.Lock()
        self.items = STREAM_WINDOW_ITEMS
        self.bytes = STREAM_WINDOW_BYTES
        self.busy = False
        self.done = False
        self.iterator: Iterator[Any] | None = None
        self.ready: list[bytes | bytearray] = []  # item frames the loop has not written yet
        self.credit_event: asyncio.Event | None = None
        method = call.procedure.method
        self.is_async = inspect.isasyncgenfunction(method)

    # -- on the loop -------------------------------------------------------------

    def start(self) -> None:
        if self.is_async:
            self.credit_event = asyncio.Event()
            self.call.task = self.dispatcher.loop_task(self._run_async())
        else:
            self._kick()

    def credit(self, items: int, nbytes: int) -> None:
        with self.lock:
            self.items += items
            self.bytes += nbytes
        if self.credit_event is not None:
            self.credit_event.set()
        else:
            self._kick()

    def cancel(self) -> None:
        """The call was cancelled: stop producing and close the generator."""
        if self.is_async:
            return  # its task is cancelled by the dispatcher
        with self.lock:
            if self.busy or self.done:
                return  # the worker sees the cancellation after its current item
            self.busy = True
        self.dispatcher.pool_submit(self._close_parked)

    def _kick(self) -> None:
        with self.lock:
            if self.busy or self.done or self.items <= 0 or self.bytes <= 0:
                return
            self.busy = True
        self.dispatcher.pool_submit(self._pull)

    def _resume(self) -> None:
        try:
            self.dispatcher.pool_submit(self._pull)
        except RuntimeError:  # the pool is shut down: the server is stopping
            self._finished(None, False, "Cancelled")

    def _drain(self) -> None:
        with self.lock:
            frames, self.ready = self.ready, []
        self.call.items_out += len(frames)
        if frames and not self.call.finished:
            self.call.responder.send_many(frames)

    def _finished(self, frame: bytearray | None, ok: bool, error: str | None) -> None:
        self._drain()
        self.dispatcher.finish(self.call, frame, ok, error)

    # -- on a worker thread --------------------------------------------------------

    def _pull(self) -> None:
        call = self.call
        codec = call.procedure.codec
        loop = self.dispatcher.loop
        assert loop is not None
        token = _current.set(call.context)
        outcome: tuple[bytearray | None, bool, str | None] | None = None
        try:
            if self.iterator is None:
                try:
                    self.iterator = iter(call.procedure.method(*self.args, **self.kwargs))
                except BaseException as exc:
                    outcome = (self._failed(exc), False, exception_name(exc))
                    return
            iterator = self.iterator
            head = stream_item_head(call.id)  # the same for every item of the call
            pulled = 0
            frame: bytes | None = None
            size = 0
            while True:
                # One lock section per item: account for the last one and look at the credit.
                with self.lock:
                    first = False
                    if frame is not None:
                        self.items -= 1
                        self.bytes -= size
                        self.ready.append(frame)
                        first = len(self.ready) == 1
                        frame = None
                    cancelled = call.context._cancelled
                    stop = self.items <= 0 or self.bytes <= 0 or pulled >= _BATCH
                    if stop and not cancelled:
                        self.busy = pulled >= _BATCH and self.items > 0 and self.bytes > 0
                if first:  # the loop drains what is ready; it is told once per batch it finds
                    try:
                        loop.call_soon_threadsafe(self._drain)
                    except RuntimeError:  # the loop is closed: the server is gone
                        self._close(iterator)
                        return
                if cancelled:
                    break
                if stop:
                    if self.busy:  # more to pull: go on, after the loop's turn
                        with contextlib.suppress(RuntimeError):  # the loop is closed
                            loop.call_soon_threadsafe(self._resume)
                    return
                try:
                    item = next(iterator)
                except StopIteration:
                    outcome = (encode_message(StreamEnd(call.id)), True, None)
                    return
                except BaseException as exc:
                    outcome = (self._failed(exc), False, exception_name(exc))
                    return
                try:
                    data = codec.check_result(item)
                except BaseException as exc:  # an item of the wrong type ends the stream
                    outcome = (self._failed(exc), False, exception_name(exc))
                    self._close(iterator)
                    return
                frame = join_frame(head, data)
                size = len(data)
                pulled += 1
            self._close(iterator)  # cancelled: closed at its yield
            outcome = (None, False, "Cancelled")
        finally:
            _current.reset(token)
            if outcome is not None:
                with self.lock:
                    self.done = True
                    self.busy = False
                with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
                    loop.call_soon_threadsafe(self._finished, *outcome)

    def _failed(self, exc: BaseException) -> bytearray:
        call = self.call
        return self.dispatcher.failed(call.id, call.procedure.name, call.responder.peer, exc)

    def _close_parked(self) -> None:
        if self.iterator is not None:
            self._close(self.iterator)
        with self.lock:
            self.done = True
            self.busy = False
        loop = self.dispatcher.loop
        assert loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
            loop.call_soon_threadsafe(self._finished, None, False, "Cancelled")

    @staticmethod
    def _close(iterator: Iterator[Any]) -> None:
        close: Callable[[], None] | None = getattr(iterator, "close", None)
        if close is not None:
            with contextlib.suppress(BaseException):  # a finally that raises: the call is over
                close()

    # -- an async generator, as a task ----------------------------------------------

    async def _run_async(self) -> None:
        call = self.call
        codec = call.procedure.codec
        event = self.credit_event
        assert event is not None
        _current.set(call.context)  # the task's own context
        frame: bytearray | None = None
        ok: bool = False
        error: str | None = "Cancelled"
        agen: AsyncIterator[Any] | None = None
        head = stream_item_head(call.id)
        try:
            agen = call.procedure.method(*self.args, **self.kwargs)
            while True:
                while self.items <= 0 or self.bytes <= 0:
                    event.clear()
                    await event.wait()
                try:
                    item = await agen.__anext__()
                except StopAsyncIteration:
                    frame, ok, error = encode_message(StreamEnd(call.id)), True, None
                    break
                data = codec.check_result(item)
                self.items -= 1
                self.bytes -= len(data)
                call.items_out += 1
                call.responder.send(join_frame(head, data))
        except asyncio.CancelledError:
            frame, ok, error = None, False, "Cancelled"
        except BaseException as exc:
            frame, ok, error = self._failed(exc), False, exception_name(exc)
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(BaseException):  # a cleanup that raises: it is over
                    await aclose()
        self.done = True
        self.dispatcher.finish(call, frame, ok, error)


class _ArgumentWindow:
    """What a streamed argument's reader owes its sender: credit, half a window at a time."""

    def __init__(self, call: _Call) -> None:
        self.call = call
        self.items: collections.deque[msgspec.Raw] = collections.deque()
        self.ended = False
        self.unacked_items = 0
        self.unacked_bytes = 0
        self.queued_bytes = 0

    def check_push(self, raw: msgspec.Raw) -> None:
        if len(self.items) >= STREAM_WINDOW_ITEMS:
            raise ProtocolError(
                f"the client sent more than {STREAM_WINDOW_ITEMS} items of call {self.call.id} "
                "without credit"
            )

    def taken(self, raw: msgspec.Raw) -> Credit | None:
        size = len(raw)
        self.queued_bytes -= size
        self.unacked_items += 1
        self.unacked_bytes += size
        self.call.items_in += 1
        if (
            self.unacked_items >= STREAM_WINDOW_ITEMS // 2
            or self.unacked_bytes >= STREAM_WINDOW_BYTES // 2
        ):
            credit = Credit(self.call.id, self.unacked_items, self.unacked_bytes)
            self.unacked_items = self.unacked_bytes = 0
            return credit
        return None


class SyncArgumentStream(_ArgumentWindow):
    """The iterator a sync implementation reads a streamed argument from (a worker thread)."""

    def __init__(self, call: _Call, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(call)
        self.loop = loop
        self.cond = threading.Condition()

    # on the loop
    def push(self, raw: msgspec.Raw) -> None:
        with self.cond:
            self.check_push(raw)
            self.items.append(raw)
            self.queued_bytes += len(raw)
            self.cond.notify()

    def end(self) -> None:
        with self.cond:
            self.ended = True
            self.cond.notify()

    def abort(self) -> None:
        with self.cond:
            self.cond.notify()

    # on the implementation's thread
    def __iter__(self) -> SyncArgumentStream:
        return self

    def __next__(self) -> Any:
        context = self.call.context
        with self.cond:
            while not self.items and not self.ended and not context._cancelled:
                self.cond.wait()
            if context._cancelled:
                raise CallCancelled(f"call {self.call.id} was cancelled")
            if not self.items:
                raise StopIteration
            raw = self.items.popleft()
            credit = self.taken(raw)
        if credit is not None:
            self.loop.call_soon_threadsafe(self._send, credit)
        return self.call.procedure.codec.decode_item(raw)

    def _send(self, credit: Credit) -> None:
        if not self.call.finished:
            self.call.responder.send(encode_message(credit))


class AsyncArgumentStream(_ArgumentWindow):
    """The async iterator an ``async def`` implementation reads a streamed argument from."""

    def __init__(self, call: _Call) -> None:
        super().__init__(call)
        self.event = asyncio.Event()

    def push(self, raw: msgspec.Raw) -> None:
        self.check_push(raw)
        self.items.append(raw)
        self.queued_bytes += len(raw)
        self.event.set()

    def end(self) -> None:
        self.ended = True
        self.event.set()

    def abort(self) -> None:
        self.event.set()

    def __aiter__(self) -> AsyncArgumentStream:
        return self

    async def __anext__(self) -> Any:
        while not self.items and not self.ended:
            self.event.clear()
            await self.event.wait()
        if not self.items:
            raise StopAsyncIteration
        raw = self.items.popleft()
        credit = self.taken(raw)
        if credit is not None and not self.call.finished:
            self.call.responder.send(encode_message(credit))
        return self.call.procedure.codec.decode_item(raw)
