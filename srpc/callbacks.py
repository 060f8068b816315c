"""Callbacks (SPEC 12a): a caller passes a local object or function, the implementation calls it.

A procedure parameter typed with another interface of the module (or a
``Callable[[A, B], R]``) is a callback parameter (:class:`~srpc.codec.CallbackParam`).
In the request its place holds the callback's index among the call's
callbacks; nothing else about the local object travels.

Server side, :class:`ServerCallbacks` belongs to one call: the dispatcher puts
a proxy (:func:`proxies`) in each callback's place, and a proxy's method sends
a ServerRequest (tag 10, numbered ``seq`` within the call) through the call's
responder and waits for the ServerReply or ServerErrorReply (tags 11, 12),
which the session routes back to the call. A sync method blocks its worker
thread (the call's connection lends the thread back to its other calls while
it waits, so nested calls do not deadlock); an ``async def`` one awaits.
Once the call has ended, a proxy raises :class:`~srpc.errors.CallbackExpired`.

Client side, :class:`ClientCallbacks` serves one call's callbacks while the
call waits: a plain function or method runs on a worker thread of this
process (never on the thread that reads the connection, so a callback that
sleeps or calls the server again blocks nothing else); an ``async def`` one
runs as a task of the async stub's loop (under the sync stub, in its own
``asyncio.run`` on a worker). Arguments are validated against the declared
types before the callback runs; what it raises goes back as in SPEC 7.

Nesting: a callback may call the server again through a stub. Calls that pass
callbacks nest at most :data:`MAX_CALLBACK_DEPTH` deep; one more raises
:class:`~srpc.errors.CallbackTooDeep` in the caller's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Final

import msgspec

from srpc.codec import CallbackParam, ProcedureCodec, encoder, replace_callbacks
from srpc.errors import (
    CallbackExpired,
    CallbackTooDeep,
    CallTimeout,
    InvalidArguments,
    InvalidResult,
    ProtocolError,
    SrpcError,
)
from srpc.framing import new_frame
from srpc.protocol import (
    DECODE_ERRORS,
    TAG_SERVER_REPLY,
    TAG_SERVER_REQUEST,
    ServerErrorReply,
    ServerReply,
    encode_message,
)
from srpc.remote_errors import ExceptionMap, error_reply, rebuild_exception
from srpc.workers import WorkerPool

__all__ = [
    "MAX_CALLBACK_DEPTH",
    "ClientCallbacks",
    "ServerCallbacks",
    "callback_depth",
    "proxies",
]

MAX_CALLBACK_DEPTH: Final = 8
"""How deep calls that pass callbacks may nest: a call from inside a callback is one level
deeper than the call that passed the callback."""

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("srpc_callback_depth", default=0)


def callback_depth() -> int:
    """The depth of a new call that passes callbacks; raises :class:`CallbackTooDeep` past
    :data:`MAX_CALLBACK_DEPTH`."""
    depth = _depth.get()
    if depth >= MAX_CALLBACK_DEPTH:
        raise CallbackTooDeep(
            f"calls that pass callbacks nest at most {MAX_CALLBACK_DEPTH} deep "
            "(a call from inside a callback is one level deeper than its caller)"
        )
    return depth


# -- server side ----------------------------------------------------------------------


class _Waiter:
    """A sync proxy's wait for one answer: a lock released when the answer (or the error
    that ends the wait) is in."""

    __slots__ = ("answer", "error", "lent", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.answer: ServerReply | ServerErrorReply | None = None
        self.error: BaseException | None = None
        self.lent = False  # sent, and counted in ServerCallbacks.waiting

    def settle(
        self, answer: ServerReply | ServerErrorReply | None, error: BaseException | None
    ) -> None:
        self.answer, self.error = answer, error
        self.lock.release()


class ServerCallbacks:
    """The callback requests one call has in flight, and whether the call still runs.

    Everything but the proxies' own waiting runs on the event loop's thread.
    ``lend`` and ``reclaim`` tell the dispatcher that a sync call's worker
    thread waits for its client (and is lent back to the connection's other
    calls), and that it runs again.
    """

    __slots__ = (
        "error",
        "id",
        "known",
        "label",
        "lend",
        "lending",
        "loop",
        "params",
        "pending",
        "reclaim",
        "remaining",
        "send",
        "seqs",
        "thread",
        "waiting",
    )

    def __init__(
        self,
        id: int,
        label: str,
        params: tuple[CallbackParam, ...],
        send: Callable[[bytes | bytearray], None],
        loop: asyncio.AbstractEventLoop,
        known: ExceptionMap,
        remaining: Callable[[], float | None],
        lend: Callable[[], bool],
        reclaim: Callable[[], None],
    ) -> None:
        self.id = id
        self.label = label
        self.params = params
        self.send = send
        self.loop = loop
        self.thread = threading.get_ident()  # the loop's thread: dispatch runs there
        self.known = known
        self.remaining = remaining
        self.lend = lend
        self.reclaim = reclaim
        self.seqs = itertools.count(1)
        self.pending: dict[int, _Waiter | asyncio.Future[Any]] = {}
        self.error: SrpcError | None = None
        """What ended the call (``None`` while it runs)."""
        self.waiting = 0  # sync waits sent and not answered
        self.lending = False  # the call's worker thread is lent back meanwhile

    # -- what the session routes to the call (on the loop)

    def receive(self, message: ServerReply | ServerErrorReply) -> None:
        """The client's answer to callback request ``message.seq``; an answer nobody waits
        for (the proxy gave up) is dropped."""
        waiting = self.pending.pop(message.seq, None)
        if waiting is not None:
            self._resolve(waiting, message, None)

    def end(self, error: SrpcError) -> None:
        """The call is over (answered, cancelled or its client lost): every wait ends with
        ``error`` and the proxies refuse new calls."""
        if self.error is not None:
            return
        self.error = error
        pending, self.pending = self.pending, {}
        for waiting in pending.values():
            self._resolve(waiting, None, error)

    @property
    def ended(self) -> bool:
        return self.error is not None

    def _resolve(
        self,
        waiting: _Waiter | asyncio.Future[Any],
        answer: ServerReply | ServerErrorReply | None,
        error: SrpcError | None,
    ) -> None:
        """End one wait, a sync proxy's or an async one's, with ``answer`` or ``error``."""
        if type(waiting) is _Waiter:
            self._unlend(waiting)
            waiting.settle(answer, error)
        elif not waiting.done():  # type: ignore[union-attr]
            if error is not None:
                waiting.set_exception(error)  # type: ignore[union-attr]
            else:
                waiting.set_result(answer)  # type: ignore[union-attr]

    # -- what a proxy does

    def _expired(self, what: str) -> CallbackExpired | SrpcError:
        if self.error is not None and not isinstance(self.error, CallbackExpired):
            return self.error
        return CallbackExpired(
            f"{what}: the call that passed this callback ({self.label}) has ended; a callback "
            "is valid only while its call runs"
        )

    def _request(
        self, target: int, method: str, codec: ProcedureCodec, args: Any, kwargs: Any
    ) -> tuple[int, bytearray]:
        seq = next(self.seqs)
        try:
            frame = new_frame(
                encoder, (TAG_SERVER_REQUEST, self.id, seq, target, method, args, kwargs)
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidArguments(f"{codec.label}: cannot encode the arguments: {exc}") from None
        return seq, frame

    def call_sync(
        self, target: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        codec = self.params[target].methods[method]
        if self.ended:
            raise self._expired(codec.label)
        if threading.get_ident() == self.thread:
            raise RuntimeError(
                f"{codec.label} is a plain def callback method called on the event loop (from an "
                "async or @srpc.inline implementation), where waiting for the client would "
                "block every call; declare it async def in the interface and await it"
            )
        seq, frame = self._request(target, method, codec, args, kwargs)
        waiter = _Waiter()
        self.pending[seq] = waiter
        try:
            self.loop.call_soon_threadsafe(self._send_lent, seq, waiter, frame)
        except RuntimeError:  # the loop is closed: the server has stopped
            raise self._expired(codec.label) from None
        timeout = self.remaining()
        if not waiter.lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to give back
                self.loop.call_soon_threadsafe(self._abandon, seq)
            raise CallTimeout(
                f"{codec.label}: no answer from the client within the call's deadline"
            )
        if waiter.error is not None:
            raise waiter.error
        assert waiter.answer is not None
        return self._result(codec, waiter.answer)

    def _send_lent(self, seq: int, waiter: _Waiter, frame: bytearray) -> None:
        if self.ended:  # the call ended before the request could go (maybe while it was added)
            if self.pending.pop(seq, None) is waiter:
                waiter.settle(None, self._expired("callback"))
            return
        if self.pending.get(seq) is not waiter:  # abandoned: its proxy gave up already
            return
        if not self.waiting:  # the call's thread is lent once, however many of its waits
            self.lending = self.lend()
        self.waiting += 1
        waiter.lent = True
        self.send(frame)

    def _unlend(self, waiter: _Waiter) -> None:
        if waiter.lent:
            waiter.lent = False
            self.waiting -= 1
            if not self.waiting and self.lending:
                self.lending = False
                self.reclaim()

    def _abandon(self, seq: int) -> None:
        waiting = self.pending.pop(seq, None)
        if type(waiting) is _Waiter:
            self._unlend(waiting)

    async def call_async(
        self, target: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        codec = self.params[target].methods[method]
        if self.ended:
            raise self._expired(codec.label)
        if asyncio.get_running_loop() is not self.loop:
            raise RuntimeError(f"{codec.label} must be awaited on the server's event loop")
        seq, frame = self._request(target, method, codec, args, kwargs)
        future: asyncio.Future[Any] = self.loop.create_future()
        self.pending[seq] = future
        self.send(frame)
        try:
            answer = await future
        finally:
            self.pending.pop(seq, None)
        return self._result(codec, answer)

    def _result(self, codec: ProcedureCodec, answer: ServerReply | ServerErrorReply) -> Any:
        if type(answer) is ServerErrorReply:
            raise rebuild_exception(answer, self.known)
        try:
            return codec.result_decoder.decode(answer.result)  # type: ignore[union-attr]
        except msgspec.ValidationError as exc:
            raise InvalidResult(
                f"{codec.label}: the client's callback returned a value that does not match "
                f"its declared type: {exc}"
            ) from None
        except DECODE_ERRORS as exc:
            raise InvalidResult(
                f"{codec.label}: the client's answer does not decode: {exc}"
            ) from None


class _Proxy:
    __slots__ = ("_srpc_callbacks", "_srpc_target")

    def __init__(self, callbacks: ServerCallbacks, target: int) -> None:
        self._srpc_callbacks = callbacks
        self._srpc_target = target

    def __repr__(self) -> str:
        param = self._srpc_callbacks.params[self._srpc_target]
        return f"<srpc callback {param.name!r} of {self._srpc_callbacks.label}>"


def _sync_method(name: str) -> Callable[..., Any]:
    def method(self: _Proxy, *args: Any, **kwargs: Any) -> Any:
        return self._srpc_callbacks.call_sync(self._srpc_target, name, args, kwargs)

    method.__name__ = name
    return method


def _async_method(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def method(self: _Proxy, *args: Any, **kwargs: Any) -> Any:
        return await self._srpc_callbacks.call_async(self._srpc_target, name, args, kwargs)

    method.__name__ = name
    return method


_PROXY_CLASSES: dict[int, type[_Proxy]] = {}


def _proxy_class(param: CallbackParam) -> type[_Proxy]:
    """A subclass of the callback's interface (so ``isinstance`` holds) whose methods call
    the client; built once per parameter."""
    cls = _PROXY_CLASSES.get(id(param))
    if cls is None:
        namespace: dict[str, Any] = {"__slots__": ()}
        for name, is_async in param.is_async.items():
            namespace[name] = _async_method(name) if is_async else _sync_method(name)
        bases: tuple[type, ...] = (
            (_Proxy,) if param.interface is None else (_Proxy, param.interface)
        )
        title = "Callable" if param.interface is None else param.interface.__name__
        cls = _PROXY_CLASSES[id(param)] = type(f"{title}Proxy", bases, namespace)
    return cls


def proxies(
    callbacks: ServerCallbacks, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments with a proxy in each callback's place; raises :class:`InvalidArguments`
    when the request does not number the callbacks as their parameters."""
    args, kwargs, numbers = replace_callbacks(
        callbacks.params,
        callbacks.label,
        args,
        kwargs,
        lambda number, param: _proxy_class(param)(callbacks, number),
    )
    for number, (param, given) in enumerate(zip(callbacks.params, numbers, strict=True)):
        if given != number:
            raise InvalidArguments(
                f"{callbacks.label}: callback {param.name!r} must be numbered {number} in the "
                f"request, not {given!r}"
            )
    return args, kwargs


# -- client side ----------------------------------------------------------------------


_pool = WorkerPool(64, "srpc-callback")
"""The threads that run this process's plain-def callbacks when the calling thread cannot
(the async stub's, and a second callback of a call whose caller runs one already)."""


class ClientCallbacks:
    """The callbacks one call passed, served while the call runs (on the caller's side).

    ``serve`` is called by the transport for each ServerRequest of the call,
    on the thread that reads the connection: it validates nothing there and
    hands the work on at once. ``send`` writes one frame to the server from
    any thread, ``send_on_loop`` from the async stub's loop (best effort: a
    lost connection fails the call anyway).
    """

    __slots__ = (
        "depth",
        "done",
        "id",
        "known",
        "label",
        "loop",
        "params",
        "send",
        "send_on_loop",
        "targets",
        "tasks",
    )

    def __init__(
        self,
        id: int,
        label: str,
        params: tuple[CallbackParam, ...],
        targets: list[Any],
        send: Callable[[bytes | bytearray], None],
        depth: int,
        known: ExceptionMap,
        loop: asyncio.AbstractEventLoop | None = None,
        send_on_loop: Callable[[bytes | bytearray], None] | None = None,
    ) -> None:
        self.id = id
        self.known = known
        self.label = label
        self.params = params
        self.targets = targets
        self.send = send
        self.send_on_loop = send if send_on_loop is None else send_on_loop
        self.depth = depth
        self.loop = loop
        self.tasks: set[asyncio.Task[None]] = set()
        self.done = False

    def serve(self, message: Any) -> None:
        """Start the callback ``message`` (a ServerRequest of this call) asks for; called on
        the thread that reads the connection, so everything else happens elsewhere."""
        if self.done:
            return
        loop = self.loop
        if loop is not None:
            target, method = message.target, message.method
            param = self._param(target)
            if param is not None and method in param.is_async:
                function = self._function(target, method)
                if param.is_async[method] or inspect.iscoroutinefunction(function):
                    task = loop.create_task(self._run_async(message))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                    return
        _pool.submit(self._run, message)

    def _param(self, target: object) -> CallbackParam | None:
        """The callback numbered ``target`` (``None``: no such number)."""
        if type(target) is int and 0 <= target < len(self.params):
            return self.params[target]
        return None

    def _function(self, target: int, method: str) -> Any:
        function = self.targets[target]
        if self.params[target].interface is not None:
            function = getattr(function, method, None)
        return function

    def _call(self, message: Any) -> tuple[ProcedureCodec, Any]:
        """Validate ``message``: the codec of the method it calls, and what that returns."""
        target, method = message.target, message.method
        param = self._param(target)
        if param is None:
            raise ProtocolError(f"{self.label}: no callback number {target!r}")
        codec = param.methods.get(method)
        if codec is None:
            raise ProtocolError(f"{param.label}: the callback has no method {method!r}")
        function = self._function(target, method)
        if not callable(function):
            raise ProtocolError(f"{codec.label}: the caller's object has no such method")
        args, kwargs = codec.decode_args(message.args, message.kwargs)
        return codec, function(*args, **kwargs)

    def _reply_error(
        self, message: Any, exc: BaseException, send: Callable[[bytes | bytearray], None]
    ) -> None:
        reply = error_reply(message.seq, exc, self.known, send_traceback=True)
        send(
            encode_message(
                ServerErrorReply(
                    message.id,
                    message.seq,
                    reply.kind,
                    reply.module,
                    reply.qualname,
                    reply.message,
                    reply.args,
                    reply.traceback,
                    reply.attrs,
                )
            )
        )

    def _answer(
        self,
        message: Any,
        codec: ProcedureCodec,
        result: Any,
        send: Callable[[bytes | bytearray], None],
    ) -> None:
        try:
            frame = new_frame(encoder, (TAG_SERVER_REPLY, message.id, message.seq, result))
        except (TypeError, ValueError, OverflowError) as exc:
            failure = InvalidResult(f"{codec.label}: cannot encode the callback's result: {exc}")
            self._reply_error(message, failure, send)
            return
        send(frame)

    def _run(self, message: Any) -> None:
        """On a worker thread: validate, call, answer."""
        send = self.send
        token = _depth.set(self.depth + 1)
        try:
            codec, result = self._call(message)
            if inspect.isawaitable(result):
                result = _thread_loop().run_until_complete(_awaited(result))
        except BaseException as exc:  # everything goes back to the implementation
            self._reply_error(message, exc, send)
            return
        finally:
            _depth.reset(token)
        self._answer(message, codec, result, send)

    async def _run_async(self, message: Any) -> None:
        """A task of the async stub's loop: validate, await, answer."""
        send = self.send_on_loop
        _depth.set(self.depth + 1)  # the task's own context
        try:
            codec, result = self._call(message)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            return  # the call ended: nobody waits for the answer
        except BaseException as exc:
            self._reply_error(message, exc, send)
            return
        self._answer(message, codec, result, send)

    def close(self) -> None:
        """The call is over: later requests are dropped and running async callbacks are
        cancelled (plain-def ones finish on their thread; their answers are dropped)."""
        self.done = True
        for task in list(self.tasks):
            task.cancel()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


_local = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's own event loop for ``async def`` callbacks of a sync stub (made once per
    thread: a new loop per callback would cost more than the callback's round trip)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop
