"""What a server says on the ``srpc.server`` logger: failed calls, failed handshakes, exposure.

Failures can come in floods (a client in a loop, a scanner), so both logs are
rate-limited: a few lines per interval, then one summary line with the
counts of what was held back. Nothing here raises into the server, whatever
the exceptions it is given do when printed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from srpc._address import is_loopback
from srpc.remote_errors import format_traceback

if TYPE_CHECKING:
    from ssl import SSLContext

__all__ = ["CallFailureLog", "HandshakeFailureLog", "exposure_warning", "logger"]

logger = logging.getLogger("srpc.server")
"""The server's logger (failed calls at ERROR, failed handshakes and exposure at WARNING)."""

_MAX_KINDS = 5
"""Kinds (procedure and exception type, or peer) named in one summary line; the rest counted."""
_MAX_PEERS = 1024
"""Peers counted apart in one interval; past it, further peers are counted together."""
_OTHER_PEERS = "(other peers)"


def _top(counts: Counter[str]) -> str:
    top = counts.most_common(_MAX_KINDS)
    text = ", ".join(f"{name} {n:,}" for name, n in top)
    rest = len(counts) - len(top)
    return text + (f" and {rest:,} more" if rest > 0 else "")


class _WindowedLog:
    """What both logs share: a window of ``interval`` seconds with at most ``per_interval``
    lines logged one by one; the rest summarised when the window rolls (or on flush)."""

    _level = logging.WARNING

    def __init__(
        self,
        log: logging.Logger | None,
        per_interval: int,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        if per_interval < 1:
            raise ValueError(f"per_interval must be at least 1, got {per_interval!r}")
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.log = logger if log is None else log
        self.per_interval = per_interval
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._logged = 0

    def flush(self) -> None:
        """Log the summary of what was held back, if any (at shutdown, or from a timer)."""
        with self._lock:
            now = self._clock()
            summary = self._summary(now)
            self._reset(now)
        if summary:
            self._emit(summary)

    def _roll(self) -> str | None:
        """Under the lock: the summary of the window that just ended, if it has."""
        now = self._clock()
        if now - self._window_start < self.interval:
            return None
        summary = self._summary(now)
        self._reset(now)
        return summary

    def _reset(self, now: float) -> None:
        self._window_start = now
        self._logged = 0

    def _summary(self, now: float) -> str | None:
        raise NotImplementedError

    def _emit(self, text: str) -> None:
        # a broken handler must not fail the call being answered, nor a connection's cleanup
        with contextlib.suppress(Exception):
            self.log.log(self._level, "%s", text)


class CallFailureLog(_WindowedLog):
    """Logs a failed call's exception with its traceback, at most ``per_interval`` per interval.

    Past the limit, failures are counted; the first failure after the interval
    (or :meth:`flush`) logs one line: ``M more failures suppressed in the last
    N s`` with the commonest procedure and exception types. The traceback is
    formatted here, safely (see :func:`srpc.remote_errors.format_traceback`),
    so a handler never runs the exception's own ``__str__``.
    """

    def __init__(
        self,
        log: logging.Logger | None = None,
        *,
        per_interval: int = 10,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(log, per_interval, interval, clock)
        self._suppressed: Counter[str] = Counter()
        self.total_suppressed = 0
        """Failures not logged one by one since this log was made."""

    _level = logging.ERROR

    def call_failed(self, proc: str, peer: str, exc: BaseException) -> None:
        """Call ``proc`` from ``peer`` raised ``exc`` in the implementation."""
        with self._lock:
            summary = self._roll()
            log_it = self._logged < self.per_interval
            if log_it:
                self._logged += 1
            else:
                self._suppressed[f"{proc}: {type(exc).__qualname__}"] += 1
                self.total_suppressed += 1
        if summary:
            self._emit(summary)
        if log_it:
            text = format_traceback(exc).rstrip("\n")
            self._emit(f"call {proc} from {peer} failed:\n{text}")

    def _summary(self, now: float) -> str | None:
        if not self._suppressed:
            return None
        n = sum(self._suppressed.values())
        span = max(now - self._window_start, 0.0)
        text = f"{n:,} more failures suppressed in the last {span:.1f} s ({_top(self._suppressed)})"
        self._suppressed = Counter()
        return text


class HandshakeFailureLog(_WindowedLog):
    """Counts failed handshakes per peer address and logs counts, not one line per attempt.

    The first failure from a peer in an interval is logged at once (at most
    ``per_interval`` such lines per interval); the others are counted, and the
    first event after the interval (or :meth:`flush`) logs one line with the
    counts per peer. Memory is bounded: past ``_MAX_PEERS`` peers in one
    interval the rest are counted together.
    """

    def __init__(
        self,
        log: logging.Logger | None = None,
        *,
        per_interval: int = 5,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(log, per_interval, interval, clock)
        self._seen: set[str] = set()
        self._held: Counter[str] = Counter()
        self._last_reason: dict[str, str] = {}
        self.total = 0
        """Failed handshakes since this log was made."""

    def handshake_failed(self, peer: str, reason: str) -> None:
        """A handshake from ``peer`` (its host address, without the port) failed for ``reason``."""
        with self._lock:
            self.total += 1
            summary = self._roll()
            key = peer if peer in self._seen or len(self._seen) < _MAX_PEERS else _OTHER_PEERS
            log_it = key not in self._seen and self._logged < self.per_interval
            self._seen.add(key)
            if log_it:
                self._logged += 1
            else:
                self._held[key] += 1
                self._last_reason[key] = reason
        if summary:
            self._emit(summary)
        if log_it:
            self._emit(f"handshake from {peer} failed: {reason}")

    def _reset(self, now: float) -> None:
        super()._reset(now)
        self._seen = set()
        self._held = Counter()
        self._last_reason = {}

    def _summary(self, now: float) -> str | None:
        if not self._held:
            return None
        n = sum(self._held.values())
        span = max(now - self._window_start, 0.0)
        top = self._held.most_common(_MAX_KINDS)
        parts = [f"{peer} {count:,} ({self._last_reason[peer]})" for peer, count in top]
        rest = len(self._held) - len(top)
        more = f" and {rest:,} more peers" if rest > 0 else ""
        return f"{n:,} more failed handshakes in the last {span:.1f} s: {', '.join(parts)}{more}"


def exposure_warning(host: str, ssl: SSLContext | None, token: str | bytes | None) -> str | None:
    """The warning a server prints at start when it is reachable beyond loopback unprotected.

    ``None`` on loopback, or with both TLS and a token. Without either, anyone
    who can reach the address can call every procedure; with a token but no
    TLS, the token and the calls travel in clear text. With TLS and no token,
    the server is encrypted and whom it admits is the TLS context's business
    (client certificates), so there is no warning.
    """
    if is_loopback(host):
        return None
    where = f"all interfaces ({host or '0.0.0.0'})" if host in ("", "0.0.0.0", "::") else host
    if ssl is None and not token:
        return (
            f"srpc: warning: listening on {where} without TLS or a token: anyone who can reach "
            "this address can call every procedure. Pass ssl=... and/or token=... to the "
            "server stub, or bind 127.0.0.1."
        )
    if ssl is None:
        return (
            f"srpc: warning: listening on {where} with a token but without TLS: the token and "
            "every call travel unencrypted. Pass ssl=... to the server stub."
        )
    return None
