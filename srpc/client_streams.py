"""The caller's side of streams: result streams for both stubs, and senders of streamed arguments.

A stub method whose procedure streams its result returns a stream object
at once: :class:`ResultStream` (sync stub: an iterator and a context
manager) or :class:`AsyncResultStream` (async stub: an async iterator and an
async context manager, used in ``async for`` without ``await``). Items are
decoded and validated as the declared item type as they are taken.

Flow control (docs/PROTOCOL.md): the server may send a window of items
before the caller grants more; the stream grants credit back, half a window
at a time, as its caller takes items. Items not yet taken wait in the
stream's own queue (a window at most), so a stream nobody reads never
blocks the answers to the connection's other calls. A streamed argument
is read from the caller's iterable only as the server's credit allows,
by a thread of its own (sync stub) or a task (async stub).

Cancelling: leaving the ``with`` block, ``close()``, breaking out and
dropping the stream, the call's timeout (which covers the whole call) or
cancelling the task sends ``Cancel``; nothing the server sends for the call
after that reaches the caller.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from srpc.codec import ProcedureCodec, encoder
from srpc.errors import CallTimeout, ConnectionLost, InvalidArguments, ProtocolError, SrpcError
from srpc.framing import new_frame
from srpc.protocol import (
    DECODE_ERRORS,
    STREAM_WINDOW_BYTES,
    STREAM_WINDOW_ITEMS,
    TAG_STREAM_ITEM,
    Cancel,
    Credit,
    ErrorReply,
    Message,
    Ping,
    Reply,
    StreamEnd,
    StreamItem,
    encode_message,
)
from srpc.remote_errors import ExceptionMap, rebuild_exception

if TYPE_CHECKING:
    from srpc.client import _AsyncConnection, _SyncConnection

__all__ = ["AsyncResultStream", "ResultStream"]

T = TypeVar("T")
R = TypeVar("R")
_monotonic = time.monotonic
_CANCEL_WAIT = 1.0  # seconds a best-effort Cancel may take to send
KEEPALIVE = 20.0
"""Seconds a stream may wait with nothing from the server before it sends a Ping; with
nothing again (not even the Pong) for as long, the connection is taken for dead
(``ConnectionLost``): a quiet stream on a silently dead server does not hang for ever."""
_nonces = itertools.count(1)


class _Keepalive:
    """One waiting caller's Ping schedule: when to ping, and whether the last one was answered."""

    __slots__ = ("ping_at", "pinged_reads")

    def __init__(self) -> None:
        self.ping_at = _monotonic() + KEEPALIVE
        self.pinged_reads: int | None = None

    def wait_until(self, deadline: float | None) -> tuple[float, bool]:
        """How long to wait now: until the call's deadline, or the next tick (True)."""
        if deadline is not None and deadline <= self.ping_at:
            return deadline, False
        return self.ping_at, True

    def tick(self, reads: int) -> bool:
        """A tick passed with nothing for this caller: False when the connection is dead
        (nothing at all arrived since the last Ping); else it is time to Ping."""
        if self.pinged_reads is not None and reads == self.pinged_reads:
            return False
        self.pinged_reads = reads
        self.ping_at = _monotonic() + KEEPALIVE
        return True


def _no_pong() -> ConnectionLost:
    return ConnectionLost(
        f"the server sent nothing, not even a Pong, for {2 * KEEPALIVE:g} s: "
        "it is taken for dead"
    )


def _encode_item(codec: ProcedureCodec, id: int, item: Any) -> bytearray:
    try:
        return new_frame(encoder, (TAG_STREAM_ITEM, id, item))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidArguments(
            f"{codec.label}: cannot encode an item of the streamed argument "
            f"{codec.stream_param!r}: {exc}"
        ) from None


def _decode_item(codec: ProcedureCodec, message: StreamItem) -> Any:
    try:
        return codec.result_decoder.decode(message.item)
    except DECODE_ERRORS:
        return codec.decode_result(message.item)  # raises InvalidResult naming the path


class _Credits:
    """Credit owed back to the server for the items the caller took (half a window at a time)."""

    __slots__ = ("bytes", "items")

    def __init__(self) -> None:
        self.items = 0
        self.bytes = 0

    def took(self, id: int, size: int) -> Credit | None:
        self.items += 1
        self.bytes += size
        if self.items >= STREAM_WINDOW_ITEMS // 2 or self.bytes >= STREAM_WINDOW_BYTES // 2:
            credit = Credit(id, self.items, self.bytes)
            self.items = self.bytes = 0
            return credit
        return None


# -- sync ---------------------------------------------------------------------------------


class _Routed:
    """The messages the session routed to one streaming call: a credit goes to the call's
    sender of a streamed argument, anything else is queued, in order, for the caller."""

    __slots__ = ("error", "messages", "sender")

    def __init__(self) -> None:
        self.messages: collections.deque[Message] = collections.deque()
        self.error: BaseException | None = None
        self.sender: SyncSender | AsyncSender | None = None

    def push(self, message: Message) -> None:
        if type(message) is Credit:
            if self.sender is not None:
                self.sender.credit(message.items, message.bytes)
            return
        self.messages.append(message)
        self._queued()

    def _queued(self) -> None:
        """A message was queued (the async state wakes its caller here)."""


class StreamSlot(_Routed):
    """What a streaming sync call waits on (pushed to under the connection's lock)."""

    __slots__ = ("message",)

    def __init__(self) -> None:
        super().__init__()
        self.message: Message | None = None  # never set: the answers are queued

    def ready(self) -> bool:
        return bool(self.messages)


class SyncSender:
    """Sends a streamed argument from the caller's iterable, within the server's credit."""

    def __init__(
        self,
        connection: _SyncConnection,
        codec: ProcedureCodec,
        id: int,
        source: Iterable[Any],
        slot: StreamSlot,
    ) -> None:
        self.connection = connection
        self.codec = codec
        self.id = id
        self.source = source
        self.slot = slot
        self.cond = threading.Condition()
        self.items = STREAM_WINDOW_ITEMS
        self.bytes = STREAM_WINDOW_BYTES
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name=f"srpc-send-{id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def credit(self, items: int, nbytes: int) -> None:
        with self.cond:
            self.items += items
            self.bytes += nbytes
            self.cond.notify()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def _run(self) -> None:
        connection = self.connection
        try:
            iterator = iter(self.source)
            while True:
                with self.cond:
                    while not self.stopped and (self.items <= 0 or self.bytes <= 0):
                        self.cond.wait()
                    if self.stopped:
                        return
                try:
                    item = next(iterator)
                except StopIteration:
                    break
                frame = _encode_item(self.codec, self.id, item)
                with self.cond:
                    if self.stopped:
                        return
                    self.items -= 1
                    self.bytes -= len(frame)
                connection.send_frame(frame, None)
            connection.send_frame(encode_message(StreamEnd(self.id)), None)
        except BaseException as exc:  # the caller's iterable raised, or the connection failed
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        connection = self.connection
        with connection.lock:
            if self.slot.error is None:
                self.slot.error = exc
            connection.calls.pop(self.id, None)
            connection.wakeup.notify_all()
        if not isinstance(exc, SrpcError) or isinstance(exc, InvalidArguments):
            _cancel_sync(connection, self.id)


def _wait_alive(
    connection: _SyncConnection, slot: StreamSlot, id: int, deadline: float | None
) -> None:
    """``connection.wait_ready`` for a stream, with Pings while it is quiet (see KEEPALIVE)."""
    keepalive = _Keepalive()
    while True:
        until, is_tick = keepalive.wait_until(deadline)
        try:
            connection.wait_ready(slot, id, until, forget=not is_tick)
            return
        except CallTimeout:
            if not is_tick:
                raise
        if not keepalive.tick(connection.reads):
            connection.fail(_no_pong())
            continue  # the wait raises the failure
        with contextlib.suppress(SrpcError):  # a failed send fails the connection: noticed next
            connection.send_frame(encode_message(Ping(next(_nonces))), until + KEEPALIVE)


def _cancel_sync(connection: _SyncConnection, id: int) -> None:
    """Tell the server the caller abandoned call ``id`` (best effort: the connection may be
    gone already, and then so is the call)."""
    connection.forget(id)
    with contextlib.suppress(SrpcError, OSError):
        connection.send_frame(encode_message(Cancel(id)), _monotonic() + _CANCEL_WAIT)


class ResultStream(Iterator[T], Generic[T]):
    """The items of a streamed result, as the server produces them (sync stub).

    An iterator and a context manager: ``with stub.watch(...) as items:
    for item in items: ...``. Leaving the block, :meth:`close`, or dropping
    the stream before its end cancels the call on the server.
    """

    def __init__(
        self,
        connection: _SyncConnection,
        codec: ProcedureCodec,
        known: ExceptionMap,
        id: int,
        slot: StreamSlot,
        deadline: float | None,
        timeout: float | None,
    ) -> None:
        self._connection = connection
        self._codec = codec
        self._known = known
        self._id = id
        self._slot = slot
        self._deadline = deadline
        self._timeout = timeout
        self._credits = _Credits()
        self._done = False
        self._taken: collections.deque[Message] = collections.deque()  # taken from the slot

    def __iter__(self) -> ResultStream[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        connection = self._connection
        slot = self._slot
        taken = self._taken
        while not taken:
            with connection.lock:  # everything queued at once: one lock per read, not per item
                if slot.messages:
                    taken, slot.messages = slot.messages, taken
                    self._taken = taken
            if taken:
                break
            try:
                _wait_alive(connection, slot, self._id, self._deadline)
            except CallTimeout as exc:
                self._end(cancel=True)
                raise CallTimeout(
                    f"{self._codec.label} timed out after {self._timeout} s: {exc}"
                ) from None
            except BaseException:
                self._end(cancel=not isinstance(slot.error, ConnectionLost))
                raise
        message = taken.popleft()
        kind = type(message)
        if kind is StreamItem:
            try:
                item: T = _decode_item(self._codec, message)  # type: ignore[arg-type]
            except BaseException:
                self._end(cancel=True)  # an item of the wrong type ends the stream
                raise
            credit = self._credits.took(self._id, len(message.item))  # type: ignore[union-attr]
            if credit is not None:
                self._send_credit(credit)
            return item
        self._end(cancel=False)
        if kind is StreamEnd:
            raise StopIteration
        if kind is ErrorReply:
            raise rebuild_exception(message, self._known)  # type: ignore[arg-type]
        raise ProtocolError(f"unexpected {kind.__name__} in the stream of {self._codec.label}")

    def _send_credit(self, credit: Credit) -> None:
        with contextlib.suppress(SrpcError):  # the connection failed: the next wait says why
            self._connection.send_frame(encode_message(credit), self._deadline)

    def _end(self, *, cancel: bool) -> None:
        if self._done:
            return
        self._done = True
        sender = self._slot.sender
        if sender is not None:
            sender.stop()
        if cancel:
            _cancel_sync(self._connection, self._id)
        else:
            self._connection.forget(self._id)

    def close(self) -> None:
        """Stop the stream: the call is cancelled on the server (a no-op after its end)."""
        self._end(cancel=True)

    def __enter__(self) -> ResultStream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self.close()


def finish_client_stream(
    connection: _SyncConnection,
    codec: ProcedureCodec,
    known: ExceptionMap,
    id: int,
    slot: StreamSlot,
    deadline: float | None,
) -> Message:
    """Wait for the unary answer of a call whose argument streams (its sender running)."""
    try:
        while True:
            _wait_alive(connection, slot, id, deadline)
            with connection.lock:
                message = slot.messages.popleft()
            if type(message) is Reply or type(message) is ErrorReply:
                return message
            raise ProtocolError(f"unexpected {type(message).__name__} for {codec.label}")
    except CallTimeout:
        _cancel_sync(connection, id)
        raise
    finally:
        if slot.sender is not None:
            slot.sender.stop()


# -- async --------------------------------------------------------------------------------


class AsyncStreamState(_Routed):
    """What a streaming async call waits on (on the connection's loop)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        super().__init__()
        self.waiter: asyncio.Future[None] | None = None

    def fail(self, error: BaseException) -> None:
        self.error = error
        self._queued()

    def _queued(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_message(self, connection: _AsyncConnection) -> Message:
        """The next message for this call, pinging the server while it is quiet."""
        keepalive = _Keepalive()
        while not self.messages:
            if self.error is not None:
                raise self.error
            self.waiter = connection.loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self.waiter), KEEPALIVE)
            except asyncio.TimeoutError:
                if not keepalive.tick(connection.reads):
                    connection.fail(_no_pong())
                else:
                    connection.send(encode_message(Ping(next(_nonces))))
        return self.messages.popleft()


class AsyncSender:
    """Sends a streamed argument from the caller's (async) iterable, within the server's credit."""

    def __init__(
        self,
        connection: _AsyncConnection,
        codec: ProcedureCodec,
        id: int,
        source: Iterable[Any] | AsyncIterable[Any],
        state: AsyncStreamState,
    ) -> None:
        self.connection = connection
        self.codec = codec
        self.id = id
        self.source = source
        self.state = state
        self.items = STREAM_WINDOW_ITEMS
        self.bytes = STREAM_WINDOW_BYTES
        self.event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def credit(self, items: int, nbytes: int) -> None:
        self.items += items
        self.bytes += nbytes
        self.event.set()

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def _items(self) -> AsyncIterator[Any]:
        source = self.source
        if isinstance(source, AsyncIterable):
            async for item in source:
                yield item
        else:
            for item in source:
                yield item

    async def _run(self) -> None:
        connection = self.connection
        try:
            async for item in self._items():
                while self.items <= 0 or self.bytes <= 0:
                    self.event.clear()
                    await self.event.wait()
                frame = _encode_item(self.codec, self.id, item)
                self.items -= 1
                self.bytes -= len(frame)
                await connection.write(frame)
            await connection.write(encode_message(StreamEnd(self.id)))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the caller's iterable raised, or the connection failed
            connection.calls.pop(self.id, None)
            self.state.fail(exc)
            connection.cancel(self.id)


def _cancelling(task: asyncio.Task[Any] | None) -> int:
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return 0 if cancelling is None else int(cancelling())


async def wait_for(awaitable: Awaitable[R], timeout: float) -> R:
    """``asyncio.wait_for``, except for a cancellation Python 3.11's ``wait_for`` drops (it
    returns a result that was ready as the task was cancelled): that one is raised. Only a
    cancellation made during the wait counts, so a task that once swallowed one still runs."""
    task = asyncio.current_task()
    cancelling = _cancelling(task)
    result = await asyncio.wait_for(awaitable, timeout)
    if _cancelling(task) > cancelling:
        raise asyncio.CancelledError
    return result


class AsyncResultStream(AsyncIterator[T], Generic[T]):
    """The items of a streamed result (async stub): ``async for item in stub.tail(10)``.

    The call starts at the first ``__anext__`` (or ``async with``); leaving
    the ``async with`` block, :meth:`aclose`, cancelling the task or the
    call's timeout cancels it on the server.
    """

    def __init__(
        self,
        client: Any,
        proc: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> None:
        self._client = client
        self._proc = proc
        self._args = args
        self._kwargs = kwargs
        self._timeout = timeout
        self._connection: _AsyncConnection | None = None
        self._state: AsyncStreamState | None = None
        self._codec: ProcedureCodec = client._srpc_settings.codec.procedures[proc]
        self._id = 0
        self._deadline: float | None = None
        self._credits = _Credits()
        self._done = False

    async def _start(self) -> None:
        connection, id, state = await self._client._srpc_open_stream(
            self._proc, self._args, self._kwargs, self._timeout
        )
        self._connection, self._id, self._state = connection, id, state
        if self._timeout is not None:
            self._deadline = _monotonic() + self._timeout

    def __aiter__(self) -> AsyncResultStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        if self._state is None:
            await self._start()
        connection, state = self._connection, self._state
        assert connection is not None and state is not None
        try:
            if self._deadline is None:
                message = await state.next_message(connection)
            else:
                remaining = max(self._deadline - _monotonic(), 0.0)
                message = await wait_for(state.next_message(connection), remaining)
        except asyncio.TimeoutError:
            self._end(cancel=True)
            raise CallTimeout(f"{self._codec.label} timed out after {self._timeout} s") from None
        except BaseException as exc:  # task cancelled, connection lost
            self._end(cancel=not isinstance(exc, ConnectionLost))
            raise
        kind = type(message)
        if kind is StreamItem:
            try:
                item: T = _decode_item(self._codec, message)  # type: ignore[arg-type]
            except BaseException:
                self._end(cancel=True)
                raise
            credit = self._credits.took(self._id, len(message.item))  # type: ignore[union-attr]
            if credit is not None:
                connection.send(encode_message(credit))
            return item
        self._end(cancel=False)
        if kind is StreamEnd:
            raise StopAsyncIteration
        if kind is ErrorReply:
            raise rebuild_exception(message, self._client._srpc_settings.known)  # type: ignore[arg-type]
        raise ProtocolError(f"unexpected {kind.__name__} in the stream of {self._codec.label}")

    def _end(self, *, cancel: bool) -> None:
        if self._done:
            return
        self._done = True
        state, connection = self._state, self._connection
        if state is not None and state.sender is not None:
            state.sender.stop()
        if connection is not None:
            connection.calls.pop(self._id, None)
            if cancel:
                connection.cancel(self._id)

    async def aclose(self) -> None:
        """Stop the stream: the call is cancelled on the server (a no-op after its end)."""
        self._end(cancel=True)

    async def __aenter__(self) -> AsyncResultStream[T]:
        if self._state is None and not self._done:
            await self._start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if not getattr(self, "_done", True) and getattr(self, "_connection", None) is not None:
            with contextlib.suppress(RuntimeError):  # its loop is closed
                self._end(cancel=True)
