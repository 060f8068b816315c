"""The call being served: ``srpc.current_call()``, its deadline and its cancellation.

Inside an implementation, :func:`current_call` describes the call that is
running: the procedure, the peer, the deadline the caller sent and whether
the caller cancelled it. It travels in a :class:`contextvars.ContextVar`,
so it is right on worker threads and in tasks alike, and calls made through
srpc stubs from inside the implementation inherit the remaining deadline
(:func:`inherited_timeout`).
"""

from __future__ import annotations

import contextvars
import threading
import time

__all__ = ["CallContext", "current_call", "inherited_timeout"]

_monotonic = time.monotonic


class CallContext:
    """One call as its implementation sees it."""

    __slots__ = ("_cancelled", "deadline", "peer", "procedure")

    def __init__(self, procedure: str, peer: str, deadline: float | None) -> None:
        self.procedure = procedure
        """The procedure's name."""
        self.peer = peer
        """The caller's address (``host:port``)."""
        self.deadline = deadline
        """When the caller stops waiting, on :func:`time.monotonic`'s clock (``None``: never)."""
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        """True once the caller cancelled the call or its deadline passed: a sync
        implementation that runs long should look at it and stop early."""
        if self._cancelled:
            return True
        deadline = self.deadline
        return deadline is not None and _monotonic() >= deadline

    def cancel(self) -> None:
        self._cancelled = True

    def time_remaining(self) -> float | None:
        """Seconds until the deadline (0 once passed), or ``None`` without one."""
        if self.deadline is None:
            return None
        return max(self.deadline - _monotonic(), 0.0)

    def __repr__(self) -> str:
        return (
            f"<CallContext {self.procedure} from {self.peer}, "
            f"remaining={self.time_remaining()}, cancelled={self.cancelled}>"
        )


_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "srpc_current_call", default=None
)

serving = [False]
"""Whether this process serves calls (set once, when a dispatcher binds its loop): a process
that only calls never looks up the context variable (which costs a fast call ~3 %)."""


class InlineSlot:
    """The call running inline on one event loop, if any, as its dispatcher left it:
    ``(procedure, peer, timeout, received)``, ``received`` on :func:`time.perf_counter`.

    An inline call finishes before its loop does anything else, so one slot
    per loop is enough, set and cleared around the call; its
    :class:`CallContext` is only built if the implementation asks. (A
    context variable set per call would cost a trivial call several
    percent.) The loop's thread finds its slot through :func:`bind_inline_slot`.
    """

    __slots__ = ("call",)

    def __init__(self) -> None:
        self.call: tuple[str, str, float | None, float] | CallContext | None = None


_loop_slots = threading.local()


def bind_inline_slot(slot: InlineSlot) -> None:
    """Make ``slot`` the inline slot of the calling thread (an event loop's)."""
    _loop_slots.slot = slot


def _call() -> CallContext | None:
    call = _current.get()
    if call is not None:
        return call
    slot: InlineSlot | None = getattr(_loop_slots, "slot", None)
    inline = None if slot is None else slot.call
    if inline is None or type(inline) is CallContext:
        return inline
    procedure, peer, timeout, received = inline  # type: ignore[misc]
    deadline = None
    if timeout is not None:
        deadline = time.monotonic() - (time.perf_counter() - received) + timeout
    call = CallContext(procedure, peer, deadline)
    assert slot is not None
    slot.call = call
    return call


def current_call() -> CallContext:
    """The call this code serves; ``RuntimeError`` outside an srpc implementation."""
    call = _call()
    if call is None:
        raise RuntimeError("srpc.current_call() is only available inside a call being served")
    return call


def inherited_timeout(timeout: float | None) -> float | None:
    """``timeout`` shortened to what remains of the call being served, if there is one."""
    if not serving[0]:
        return timeout
    call = _call()
    if call is None or call.deadline is None:
        return timeout
    remaining = max(call.deadline - _monotonic(), 0.0)
    return remaining if timeout is None or remaining < timeout else timeout
