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
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from srpc.codec import ProcedureCodec, service_codec
from srpc.descriptor import ServiceDescriptor
from srpc.errors import InvalidArguments, ProtocolError
from srpc.metrics import MetricsWriter
from srpc.protocol import Request, encode_message
from srpc.remote_errors import error_reply, interface_exceptions

__all__ = ["Dispatcher", "Responder", "inline"]

log = logging.getLogger("srpc.server")

_perf = time.perf_counter
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

    ``send_answer`` is only ever called on the event loop's thread, once per
    request the dispatcher was given, with the whole answer frame (or its
    parts, written back to back).
    """

    peer: str

    def send_answer(self, id: int, frame: bytes | bytearray | list[bytes | bytearray]) -> None:
        """Write the answer to call ``id`` (and release its place in the call table)."""


class _Procedure:
    """A declared procedure bound to the implementation."""

    __slots__ = ("codec", "inline", "is_async", "method", "name")

    def __init__(self, name: str, method: Callable[..., Any], codec: ProcedureCodec, inline: bool):
        self.name = name
        self.method = method
        self.codec = codec
        self.is_async = inspect.iscoroutinefunction(method)
        self.inline = not self.is_async and (inline or bool(getattr(method, _INLINE, False)))


class _WorkerPool:
    """Daemon worker threads, started as calls need them, up to ``max_workers``."""

    def __init__(self, max_workers: int | None, name: str) -> None:
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.name = name
        self.queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None]
        self.queue = queue.SimpleQueue()
        self.idle = threading.Semaphore(0)
        self.threads: list[threading.Thread] = []
        self.closed = False

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("the worker pool is shut down")
        self.queue.put((fn, args))
        if not self.idle.acquire(blocking=False) and len(self.threads) < self.max_workers:
            thread = threading.Thread(
                target=self._work, name=f"{self.name}-{len(self.threads)}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def _work(self) -> None:
        get = self.queue.get
        while True:
            item = get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except BaseException:  # pragma: no cover - the dispatcher's runners catch everything
                log.exception("a worker's task failed")
            del item, fn, args
            self.idle.release()

    def shutdown(self) -> None:
        """Stop taking work; idle threads exit, busy ones when their call returns."""
        self.closed = True
        for _ in self.threads:
            self.queue.put(None)


class Dispatcher:
    """Runs one implementation's declared procedures for any number of transports."""

    def __init__(
        self,
        descriptor: ServiceDescriptor,
        impl: Any,
        *,
        metrics: MetricsWriter,
        max_workers: int | None = None,
        inline_all: bool = False,
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
        self.pool = _WorkerPool(max_workers, f"srpc-{descriptor.name}")
        self.loop: asyncio.AbstractEventLoop | None = None

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
        if procedure.is_async:
            assert self.loop is not None
            self.loop.create_task(
                self._run_async(responder, procedure, request.id, args, kwargs, size, received)
            )
        elif procedure.inline:
            self._run_sync(responder, procedure, request.id, args, kwargs, size, received, False)
        else:
            try:
                self.pool.submit(
                    self._run_sync, responder, procedure, request.id, args, kwargs, size, received,
                    True,
                )  # fmt: skip
            except RuntimeError:  # shut down: the server is stopping
                unavailable = ProtocolError(f"service {self.service!r} is shutting down")
                self._refuse(responder, request.id, procedure.name, unavailable, size, received)

    def _run_sync(
        self,
        responder: Responder,
        procedure: _Procedure,
        id: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        size: int,
        received: float,
        pooled: bool,
    ) -> None:
        """Run a sync implementation and answer: on the loop, or in a worker (``pooled``)."""
        try:
            result = procedure.method(*args, **kwargs)
            frame = procedure.codec.encode_reply(id, result)
            ok, error = True, None
        except BaseException as exc:  # SystemExit & co. included: they become RemoteError
            frame = self._error_frame(id, exc)
            ok, error = False, type(exc).__name__
        if not pooled:  # the answer inline, without finish()'s extra call
            responder.send_answer(id, frame)
            if self.metrics.path is not None:
                self._record(responder.peer, frame, procedure.name, ok, error, size, received)
            return
        assert self.loop is not None
        # RuntimeError: the loop is closed, the server is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(
                self.finish, responder, id, frame, procedure.name, ok, error, size, received
            )

    async def _run_async(
        self,
        responder: Responder,
        procedure: _Procedure,
        id: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        size: int,
        received: float,
    ) -> None:
        try:
            result = await procedure.method(*args, **kwargs)
            frame = procedure.codec.encode_reply(id, result)
            ok, error = True, None
        except BaseException as exc:  # everything reaches the caller; the server keeps serving
            frame = self._error_frame(id, exc)
            ok, error = False, type(exc).__name__
        self.finish(responder, id, frame, procedure.name, ok, error, size, received)

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
        frame = self._error_frame(id, exc)
        self.finish(responder, id, frame, proc, False, type(exc).__name__, size, received)

    def _error_frame(self, id: int, exc: BaseException) -> bytearray:
        return encode_message(error_reply(id, exc, self.known))

    def finish(
        self,
        responder: Responder,
        id: int,
        frame: bytes | bytearray | list[bytes | bytearray],
        proc: str,
        ok: bool,
        error: str | None,
        req_bytes: int,
        received: float,
    ) -> None:
        """Send call ``id``'s answer and write its metrics record; on the event loop's thread."""
        responder.send_answer(id, frame)
        if self.metrics.path is not None:  # metrics_log=None: not even a clock read
            self._record(responder.peer, frame, proc, ok, error, req_bytes, received)

    def _record(
        self,
        peer: str,
        frame: bytes | bytearray | list[bytes | bytearray],
        proc: str,
        ok: bool,
        error: str | None,
        req_bytes: int,
        received: float,
    ) -> None:
        if isinstance(frame, list):
            resp_bytes = 0
            for part in frame:
                resp_bytes += len(part)
        else:
            resp_bytes = len(frame)
        done = _perf()
        self.metrics.append(
            (done, proc, ok, (done - received) * 1000.0, error, peer, req_bytes, resp_bytes)
        )

    def close(self) -> None:
        self.pool.shutdown()
