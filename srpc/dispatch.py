"""The dispatcher: runs declared procedures and turns their outcome into answer frames.

It owns the procedure table, how each implementation runs, the error
replies and the metrics records. Transports hand it decoded requests and
get the answer back through one narrow interface, :class:`Responder`, so
the TCP server, the in-memory transport and (later) NATS and client-side
callbacks share it.

How an implementation runs:

- ``async def``: a task on the event loop;
- plain ``def``: a worker thread of the dispatcher's pool, never the event
  loop, so a slow or blocked procedure cannot stall other calls. Sync
  implementations therefore run concurrently (up to ``max_workers`` at
  once): shared state needs a lock;
- plain ``def`` marked with :func:`inline`: on the event loop itself. That
  saves two thread hops per call (a sequential trivial call ran about 2.5
  times as fast inline in ``make bench`` on 2 cores) but every other call
  of the server waits while it runs: only for procedures that never block
  and finish in microseconds.

The pool's threads are daemon threads: a procedure blocked for ever cannot
keep the process alive after the server stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from srpc.callbacks import MAX_CALLBACK_DEPTH, ServerCallbacks, proxies
from srpc.codec import ProcedureCodec, service_codec
from srpc.context import CallContext, InlineSlot, _current, bind_inline_slot, serving
from srpc.descriptor import ServiceDescriptor
from srpc.errors import (
    CallbackExpired,
    CallTimeout,
    ConnectError,
    ConnectionLost,
    InvalidArguments,
    ProtocolError,
    SrpcError,
)
from srpc.metrics import MetricsWriter
from srpc.protocol import (
    Cancel,
    Credit,
    Message,
    Request,
    ServerErrorReply,
    ServerReply,
    StreamEnd,
    StreamItem,
    encode_message,
)
from srpc.remote_errors import error_reply, exception_name, interface_exceptions
from srpc.server_log import CallFailureLog
from srpc.server_streams import AsyncArgumentStream, ResultStream, SyncArgumentStream
from srpc.workers import WorkerPool

__all__ = ["Dispatcher", "Responder", "inline"]

log = logging.getLogger("srpc.server")

_perf = time.perf_counter
_monotonic = time.monotonic
F = TypeVar("F", bound=Callable[..., Any])
_INLINE = "__srpc_inline__"
_MAX_NAME = 200  # characters of an unknown procedure name echoed back


def inline(method: F) -> F:
    """Run this plain ``def`` implementation on the server's event loop, not a worker thread.

    For procedures that never block and take microseconds: it saves two
    thread hops per call, but while it runs no other call of the server
    makes progress. Applied to the implementation's method::

        class Calc(CalcInterface):
            @srpc.inline
            def add(self, a: int, b: int) -> int:
                return a + b
    """
    if inspect.iscoroutinefunction(method):
        raise TypeError(f"@srpc.inline is for plain def procedures; {method.__name__} is async")
    setattr(method, _INLINE, True)
    return method


class Responder(Protocol):
    """What the dispatcher needs from the transport that received a request.

    Every method is called on the event loop's thread. ``send_answer`` is
    called once per request the dispatcher was given, with the call's last
    frame (or its parts, written back to back), or ``None`` when the call
    ends without one (the caller cancelled it); it releases the call's place
    in the session's table. ``attach`` routes the call's later messages
    (Cancel, Credit, stream items) to ``call.receive``.
    """

    peer: str
    write_paused: bool
    """Whether the transport's unsent output is over its high-water mark: the dispatcher
    starts no more of this responder's queued sync calls until :meth:`Dispatcher.pump`."""

    def send(self, frame: bytes | bytearray) -> None:
        """Write one frame of a call still running (a stream item, a credit)."""

    def send_many(self, frames: list[bytes | bytearray]) -> None:
        """Write frames of calls still running, in order."""

    def send_answer(
        self, id: int, frame: bytes | bytearray | list[bytes | bytearray] | None
    ) -> None:
        """Write the last frame of call ``id`` and release its place in the call table."""

    def attach(self, id: int, call: _Call) -> None:
        """Route call ``id``'s later messages to ``call.receive``."""


class _Procedure:
    """A declared procedure bound to the implementation."""

    __slots__ = ("codec", "inline", "is_async", "method", "name", "streams")

    def __init__(self, name: str, method: Callable[..., Any], codec: ProcedureCodec, inline: bool):
        self.name = name
        self.method = method
        self.codec = codec
        self.is_async = inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)
        self.streams = codec.stream_result or codec.stream_param is not None
        self.inline = (
            not self.is_async
            and not self.streams
            and not codec.callbacks  # waits for its client: never on the loop
            and (inline or bool(getattr(method, _INLINE, False)))
        )


def default_workers_per_connection(max_workers: int) -> int:
    """Half the pool, at least one thread: a connection can never hold every thread."""
    return max(1, max_workers // 2)


class _Lane:
    """One responder's sync calls: how many run on the pool, and those waiting their turn.

    A responder (a connection) runs at most ``Dispatcher.per_connection`` sync calls at
    once; the rest wait here, on the loop, not in the pool's queue. So blocked calls on
    one connection never hold every thread, and the pool's queue holds at most
    ``per_connection`` calls of each connection: a newcomer's call waits behind a few
    calls of each busy connection, not behind all of them (round-robin in effect).
    """

    __slots__ = ("lent", "running", "waiting")

    def __init__(self) -> None:
        self.running = 0
        self.lent = 0
        """Threads of this connection's calls that wait for a callback's answer: they are
        lent back (not counted in ``running``), at most MAX_CALLBACK_DEPTH at a time."""
        self.waiting: deque[tuple[_Call, tuple[Any, ...], dict[str, Any]]] = deque()


class _Call:
    """A call that runs beyond the moment it was dispatched: its context, its task or stream,
    its deadline timer, and the counts for its metrics record."""

    __slots__ = (
        "argument",
        "callbacks",
        "context",
        "finished",
        "id",
        "items_in",
        "items_out",
        "lane",
        "procedure",
        "reason",
        "received",
        "responder",
        "result",
        "size",
        "task",
        "timer",
    )

    def __init__(
        self,
        id: int,
        procedure: _Procedure,
        responder: Responder,
        deadline: float | None,
        size: int,
        received: float,
    ) -> None:
        self.id = id
        self.procedure = procedure
        self.responder = responder
        self.context = CallContext(procedure.name, responder.peer, deadline)
        self.size = size
        self.received = received
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.result: ResultStream | None = None
        self.argument: SyncArgumentStream | AsyncArgumentStream | None = None
        self.finished = False
        self.reason = "Cancelled"
        self.items_in = 0
        self.items_out = 0
        self.lane: _Lane | None = None
        self.callbacks: ServerCallbacks | None = None

    def receive(self, message: Message) -> None:
        """A message the caller sent for this call (on the loop); ProtocolError if it may not."""
        kind = type(message)
        if kind is Cancel:
            self.cancel("Cancelled")
        elif kind is Credit and self.result is not None:
            self.result.credit(message.items, message.bytes)  # type: ignore[union-attr]
        elif kind is StreamItem and self.argument is not None:
            self.argument.push(message.item)  # type: ignore[union-attr]
        elif kind is StreamEnd and self.argument is not None:
            self.argument.end()
        elif (kind is ServerReply or kind is ServerErrorReply) and self.callbacks is not None:
            self.callbacks.receive(message)  # type: ignore[arg-type]
        else:
            raise ProtocolError(
                f"unexpected {kind.__name__} for call {self.id} ({self.procedure.name})"
            )

    def cancel(self, reason: str) -> None:
        """Stop the call: the caller gave up, its deadline passed, or the server stops."""
        if self.finished or self.context._cancelled:
            return
        self.context.cancel()
        self.reason = reason
        if self.callbacks is not None:
            self.callbacks.end(_ended(self, reason))
        if self.argument is not None:
            self.argument.abort()
        if self.task is not None:
            self.task.cancel()
        if self.result is not None:
            self.result.cancel()


def _ended(call: _Call, reason: str) -> SrpcError:
    """What a proxy of ``call``'s callbacks raises once the call was stopped for ``reason``."""
    label = call.procedure.codec.label
    if reason == "ConnectionLost":
        return ConnectionLost(f"{label}: the caller was lost during the call")
    if reason == "DeadlineExceeded":
        return CallTimeout(f"{label}: the call's deadline passed")
    return CallbackExpired(f"{label}: the call was stopped ({reason}); its callbacks are gone")


class Dispatcher:
    """Runs one implementation's declared procedures for any number of transports."""

    def __init__(
        self,
        descriptor: ServiceDescriptor,
        impl: Any,
        *,
        metrics: MetricsWriter,
        max_workers: int | None = None,
        max_workers_per_connection: int | None = None,
        inline_all: bool = False,
        send_tracebacks: bool = True,
        failures: CallFailureLog | None = None,
    ) -> None:
        self.service = descriptor.name
        codec = service_codec(descriptor)
        self.procedures: dict[str, _Procedure] = {}
        for name in descriptor.procedures:
            method = getattr(impl, name, None)
            if not callable(method):
                raise TypeError(
                    f"the implementation {type(impl).__qualname__} has no procedure {name!r}"
                )
            self.procedures[name] = _Procedure(name, method, codec.procedures[name], inline_all)
        self.known = interface_exceptions(descriptor.interface)
        self.metrics = metrics
        self.observer: Callable[[str, bool, float, str | None], None] | None = None
        """Told of every finished call too (see :meth:`observe`)."""
        self.recording = metrics.path is not None
        """Whether finished calls are recorded (the metrics log, or an observer is set)."""
        self.send_tracebacks = send_tracebacks
        self.failures = CallFailureLog() if failures is None else failures
        self.pool = WorkerPool(max_workers, f"srpc-{descriptor.name}")
        if max_workers_per_connection is None:
            max_workers_per_connection = default_workers_per_connection(self.pool.max_workers)
        if max_workers_per_connection < 1:
            raise ValueError("max_workers_per_connection must be at least 1")
        self.per_connection = max_workers_per_connection
        """Sync calls one responder may run on the pool at once."""
        self.lanes: dict[Responder, _Lane] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.inline_slot = InlineSlot()
        self.open_streams = 0
        """Streaming calls dispatched and not finished (the metrics log follows it)."""
        metrics.streams_open = lambda: self.open_streams
        self.calls: set[_Call] = set()
        """Calls dispatched and not finished (inline calls never are: they finish at once)."""
        self.closing = False

    def observe(self, observer: Callable[[str, bool, float, str | None], None]) -> None:
        """Tell ``observer`` of every finished call as well (NATS's ``$SRV.STATS``)."""
        self.observer = observer
        self.recording = True

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve on ``loop``; called on the loop's thread."""
        self.loop = loop
        bind_inline_slot(self.inline_slot)
        serving[0] = True

    def loop_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self.loop is not None
        return self.loop.create_task(coro)

    def pool_submit(self, fn: Callable[..., None], *args: Any) -> None:
        self.pool.submit(fn, *args)

    def dispatch(self, responder: Responder, request: Request, size: int, received: float) -> None:
        """Run ``request`` (``size`` bytes, read at ``received``) and answer it through
        ``responder``; on the event loop's thread."""
        procedure = self.procedures.get(request.proc)
        if procedure is None:
            name = request.proc
            if len(name) > _MAX_NAME:
                name = name[:_MAX_NAME] + f"... ({len(request.proc)} characters)"
            unknown = ProtocolError(f"service {self.service!r} has no procedure {name!r}")
            self._refuse(responder, request.id, name, unknown, size, received)
            return
        try:
            args, kwargs = procedure.codec.decode_args(request.args, request.kwargs)
        except InvalidArguments as exc:
            self._refuse(responder, request.id, procedure.name, exc, size, received)
            return
        if self.closing:
            closing = ConnectError(f"service {self.service!r} is shutting down")
            self._refuse(responder, request.id, procedure.name, closing, size, received)
            return
        timeout = request.timeout
        if procedure.inline:  # run and answer now, on the loop
            id = request.id
            slot = self.inline_slot  # what current_call() reads while it runs (srpc.context)
            slot.call = (procedure.name, responder.peer, timeout, received)
            try:
                result = procedure.method(*args, **kwargs)
                frame = procedure.codec.encode_reply(id, result)
                ok, error = True, None
            except BaseException as exc:  # SystemExit & co. included: they become RemoteError
                frame = self.failed(id, procedure.name, responder.peer, exc)
                ok, error = False, exception_name(exc)
            finally:
                slot.call = None
            responder.send_answer(id, frame)
            if self.recording:
                self._record(responder.peer, frame, procedure.name, ok, error, size, received, 0, 0)
            return
        call = _Call(
            request.id,
            procedure,
            responder,
            None if timeout is None else _monotonic() + timeout,
            size,
            received,
        )
        if procedure.codec.callbacks:
            try:
                args, kwargs = self._with_proxies(call, args, kwargs)
            except InvalidArguments as exc:
                self._refuse(responder, request.id, procedure.name, exc, size, received)
                return
        responder.attach(request.id, call)
        self.calls.add(call)
        if timeout is not None:
            assert self.loop is not None
            call.timer = self.loop.call_later(timeout, call.cancel, "DeadlineExceeded")
        if procedure.streams:
            self._start_streams(call, args, kwargs)
        elif procedure.is_async:
            assert self.loop is not None
            call.task = self.loop.create_task(self._run_async(call, args, kwargs))
        else:
            lane = self.lanes.get(responder)
            if lane is None:  # one per connection, kept until release(): no per-call allocation
                lane = self.lanes[responder] = _Lane()
            if (
                lane.running < self.per_connection
                and not lane.waiting
                and not responder.write_paused
            ):
                self._submit(lane, call, args, kwargs)
            else:
                lane.waiting.append((call, args, kwargs))

    def _with_proxies(
        self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """``call``'s arguments with a proxy in each callback's place."""
        assert self.loop is not None
        pool = self.pool

        def lend() -> bool:
            lane = call.lane
            if lane is None or lane.lent >= MAX_CALLBACK_DEPTH or pool.lent >= pool.max_workers * 4:
                return False  # past the bounds the waiting thread stays counted
            lane.running -= 1
            lane.lent += 1
            pool.lent += 1
            self.pump(call.responder)
            return True

        def reclaim() -> None:
            lane = call.lane
            if lane is not None:
                lane.running += 1
                lane.lent -= 1
            pool.lent -= 1

        callbacks = ServerCallbacks(
            call.id,
            call.procedure.codec.label,
            call.procedure.codec.callbacks,
            call.responder.send,
            self.loop,
            self.known,
            call.context.time_remaining,
            lend,
            reclaim,
        )
        call.callbacks = callbacks
        return proxies(callbacks, args, kwargs)

    def _submit(
        self, lane: _Lane, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        lane.running += 1
        call.lane = lane  # set while it runs: finish() gives the thread back
        try:
            self.pool.submit(self._run_pooled, call, args, kwargs)
        except RuntimeError:  # shut down: the server is stopping
            unavailable = ConnectError(f"service {self.service!r} is shutting down")
            self.finish(call, self.error_frame(call.id, unavailable), False, "ConnectError")

    def pump(self, responder: Responder) -> None:
        """Start ``responder``'s waiting sync calls while it has threads to spare and its
        output is not backed up (the transport calls this when its writing resumes)."""
        lane = self.lanes.get(responder)
        if lane is None:
            return
        waiting = lane.waiting
        while waiting and lane.running < self.per_connection:
            call, args, kwargs = waiting[0]
            if call.context._cancelled:  # cancelled while waiting: answered with nothing
                waiting.popleft()
                self.finish(call, None, False, call.reason)
                continue
            if responder.write_paused:
                break
            waiting.popleft()
            self._submit(lane, call, args, kwargs)

    def release(self, responder: Responder) -> None:
        """``responder`` is gone: its waiting sync calls end unanswered, never run."""
        lane = self.lanes.pop(responder, None)
        if lane is None:
            return
        while lane.waiting:
            call, _, _ = lane.waiting.popleft()
            call.cancel("ConnectionLost")
            self.finish(call, None, False, call.reason)

    def _start_streams(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.open_streams += 1
        codec = call.procedure.codec
        if codec.stream_param is not None:
            assert self.loop is not None
            argument: SyncArgumentStream | AsyncArgumentStream
            if call.procedure.is_async:
                argument = AsyncArgumentStream(call)
            else:
                argument = SyncArgumentStream(call, self.loop)
            call.argument = argument
            index = codec.stream_param_index
            if index is not None and index < len(args):
                args = (*args[:index], argument, *args[index + 1 :])
            else:
                kwargs = {**kwargs, codec.stream_param: argument}
        if codec.stream_result:
            call.result = ResultStream(self, call, args, kwargs)
            call.result.start()
        elif call.procedure.is_async:
            assert self.loop is not None
            call.task = self.loop.create_task(self._run_async(call, args, kwargs))
        else:
            self.pool.submit(self._run_pooled, call, args, kwargs)

    def _run_pooled(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Run a sync implementation on a worker thread; the answer goes back to the loop."""
        token = _current.set(call.context)
        try:
            result = call.procedure.method(*args, **kwargs)
            frame = call.procedure.codec.encode_reply(call.id, result)
            ok, error = True, None
        except BaseException as exc:  # SystemExit & co. included: they become RemoteError
            frame = self.failed(call.id, call.procedure.name, call.responder.peer, exc)
            ok, error = False, exception_name(exc)
        finally:
            _current.reset(token)
        assert self.loop is not None
        # RuntimeError: the loop is closed, the server is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.finish, call, frame, ok, error)

    async def _run_async(self, call: _Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        _current.set(call.context)  # the task's own context
        try:
            result = await call.procedure.method(*args, **kwargs)
            frame = call.procedure.codec.encode_reply(call.id, result)
            ok, error = True, None
        except asyncio.CancelledError:
            frame, ok, error = None, False, call.reason
        except BaseException as exc:  # everything reaches the caller; the server keeps serving
            frame = self.failed(call.id, call.procedure.name, call.responder.peer, exc)
            ok, error = False, exception_name(exc)
        self.finish(call, frame, ok, error)

    def _refuse(
        self,
        responder: Responder,
        id: int,
        proc: str,
        exc: Exception,
        size: int,
        received: float,
    ) -> None:
        """Answer a request that never reached the implementation with ``exc``."""
        frame = self.error_frame(id, exc)
        responder.send_answer(id, frame)
        if self.recording:
            error = exception_name(exc)
            self._record(responder.peer, frame, proc, False, error, size, received, 0, 0)

    def error_frame(self, id: int, exc: BaseException) -> bytearray:
        """The ErrorReply frame of call ``id`` for ``exc`` (bounded, whatever ``exc`` does)."""
        return encode_message(error_reply(id, exc, self.known, send_traceback=self.send_tracebacks))

    def failed(self, id: int, proc: str, peer: str, exc: BaseException) -> bytearray:
        """The implementation of call ``id`` raised ``exc``: log it (rate-limited) and
        return its ErrorReply frame."""
        self.failures.call_failed(proc, peer, exc)
        return self.error_frame(id, exc)

    def finish(
        self,
        call: _Call,
        frame: bytes | bytearray | list[bytes | bytearray] | None,
        ok: bool,
        error: str | None,
    ) -> None:
        """Call ``call`` is over: send its last frame (none once the caller cancelled it) and
        write its metrics record; on the event loop's thread."""
        if call.finished:
            return
        call.finished = True
        if call.callbacks is not None:
            call.callbacks.end(CallbackExpired(f"{call.procedure.codec.label} has ended"))
        self.calls.discard(call)
        if call.procedure.streams:
            self.open_streams -= 1
        lane = call.lane
        if lane is not None:
            call.lane = None
            lane.running -= 1
        if call.timer is not None:
            call.timer.cancel()
        if call.context._cancelled:  # the caller gave up (or its deadline passed): no answer
            frame, ok, error = None, False, call.reason
        call.responder.send_answer(call.id, frame)
        if lane is not None and lane.waiting:
            self.pump(call.responder)
        if self.recording:
            self._record(
                call.responder.peer,
                frame,
                call.procedure.name,
                ok,
                error,
                call.size,
                call.received,
                call.items_in,
                call.items_out,
                call.procedure.streams,
            )

    def _record(
        self,
        peer: str,
        frame: bytes | bytearray | list[bytes | bytearray] | None,
        proc: str,
        ok: bool,
        error: str | None,
        req_bytes: int,
        received: float,
        items_in: int,
        items_out: int,
        streams: bool = False,
    ) -> None:
        if frame is None:
            resp_bytes = 0
        elif isinstance(frame, list):
            resp_bytes = 0
            for part in frame:
                resp_bytes += len(part)
        else:
            resp_bytes = len(frame)
        done = _perf()
        latency = (done - received) * 1000.0
        if self.observer is not None:
            self.observer(proc, ok, latency, error)
            if self.metrics.path is None:
                return
        if streams:
            self.metrics.append_stream(
                (done, proc, ok, latency, error, peer, req_bytes, resp_bytes, items_in, items_out)
            )
        else:
            self.metrics.append((done, proc, ok, latency, error, peer, req_bytes, resp_bytes))

    def begin_shutdown(self) -> None:
        """Refuse new calls from now on (calls in flight go on)."""
        self.closing = True

    def cancel_all(self) -> None:
        """The grace period is over: cancel every call still running."""
        for call in list(self.calls):
            call.cancel("ServerShutdown")
        for responder in list(self.lanes):
            self.pump(responder)  # the waiting ones, all cancelled now, end unanswered

    def close(self) -> None:
        self.pool.shutdown()
