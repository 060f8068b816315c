"""Writes the server's metrics log: one JSON line per finished call, off the call path.

The call path only appends a tuple to a deque (``record``); a background
thread turns the queued tuples into JSON lines, appends them to the log in
one write per batch at least once a second, and rotates the file by size.
The format is documented in ``docs/METRICS.md``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["MetricsWriter"]

# finished (time.perf_counter()), proc, ok, latency_ms, error, peer, req_bytes, resp_bytes
_Pending = tuple[float, str, bool, float, "str | None", str, int, int]

_perf = time.perf_counter

_MAX_PENDING = 1_000_000
"""Records kept in memory while the log cannot be written; older ones are dropped past it."""


class _CallLine(msgspec.Struct, gc=False):
    """One finished call, in the documented field order (atomic fields only: no GC tracking)."""

    ts: float
    service: str
    proc: str
    ok: bool
    latency_ms: float
    error: str | None
    peer: str
    req_bytes: int
    resp_bytes: int


class MetricsWriter:
    """Buffers call records in memory; a background thread appends them to the log.

    ``path=None`` turns metrics off: every method is then a no-op.
    ``flush_interval`` (seconds, at most 1) bounds how stale the file can be;
    the log rotates when a write would take it past ``max_bytes``, keeping
    ``backups`` older files as ``<path>.1`` (newest) ... ``<path>.<backups>``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        service: str,
        flush_interval: float = 0.5,
        max_bytes: int = 50 * 1024 * 1024,
        backups: int = 3,
    ) -> None:
        if not 0 < flush_interval <= 1.0:
            raise ValueError(f"flush_interval must be in (0, 1] seconds, got {flush_interval!r}")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes!r}")
        if backups < 0:
            raise ValueError(f"backups must be >= 0, got {backups!r}")
        self.path = None if path is None else os.fspath(path)
        self.service = service
        self.dropped = 0
        """Lines dropped because the log could not be written."""
        self._flush_interval = flush_interval
        self._max_bytes = max_bytes
        self._backups = backups
        self._pending: deque[_Pending] = deque(maxlen=_MAX_PENDING)
        self.append: Callable[[_Pending], None] = self._pending.append
        """The call path's :meth:`record`: queue ``(time.perf_counter() when the call
        finished, proc, ok, latency_ms, error, peer, req_bytes, resp_bytes)`` without a method
        call or a wall-clock read (the writer converts the time). Only while ``path`` is set."""
        self._encoder = msgspec.json.Encoder()
        # event fields come from the server (address, pid, ...): anything unusual becomes a string
        self._event_encoder = msgspec.json.Encoder(enc_hook=str)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._io_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warned = False

    # -- the server's API ---------------------------------------------------

    def start(self, **fields: object) -> None:
        """Write the ``start`` event now and begin flushing in the background.

        Raises ``OSError`` (with a message naming the path) if the log cannot
        be opened for appending.
        """
        if self.path is None or self._thread is not None:
            return
        try:
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise type(exc)(
                exc.errno,
                f"cannot write the metrics log {self.path!r}: {exc.strerror}; "
                "choose a writable path or pass metrics_log=None to turn metrics off",
            ) from exc
        self._flush(before=self._event_line("start", fields))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="srpc-metrics", daemon=True)
        self._thread.start()

    def record(
        self,
        proc: str,
        ok: bool,
        latency_ms: float,
        error: str | None,
        peer: str,
        req_bytes: int,
        resp_bytes: int,
    ) -> None:
        """Queue one finished call; no I/O, no lock, no formatting."""
        if self.path is not None:
            self.append((_perf(), proc, ok, latency_ms, error, peer, req_bytes, resp_bytes))

    def close(self, **fields: object) -> None:
        """Write the ``stop`` event, flush everything and stop the background thread."""
        if self.path is None or self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._thread = None
        self._flush(after=self._event_line("stop", fields))

    def flush(self) -> None:
        """Write everything queued so far (the background thread does this on its own)."""
        if self.path is not None:
            self._flush()

    # -- background ---------------------------------------------------------

    def _event_line(self, event: str, fields: dict[str, object]) -> bytes:
        obj: dict[str, Any] = {"ts": time.time(), "service": self.service, "event": event}
        obj.update(fields)
        return self._event_encoder.encode(obj) + b"\n"

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self._flush()

    def _take_batch(self) -> bytes:
        pending = self._pending
        n = len(pending)
        if not n:
            return b""
        popleft = pending.popleft
        batch = [popleft() for _ in range(n)]
        service = self.service
        wall = time.time() - _perf()  # perf_counter -> wall clock, once per batch
        # (x * 1e6 + 0.5) // 1 / 1e6 rounds to the nanosecond at a third of round(x, 6)'s cost;
        # this thread shares the GIL with the calls
        lines = [
            _CallLine(t + wall, service, proc, ok, (lat * 1e6 + 0.5) // 1 / 1e6, err, peer, rq, rs)
            for t, proc, ok, lat, err, peer, rq, rs in batch
        ]
        return self._encoder.encode_lines(lines)

    def _flush(self, before: bytes = b"", after: bytes = b"") -> None:
        assert self.path is not None
        with self._io_lock:
            data = before + self._take_batch() + after
            if not data:
                return
            try:
                self._write(data)
            except OSError as exc:
                self.dropped += data.count(b"\n")
                if not self._warned:
                    self._warned = True
                    print(
                        f"srpc: cannot write the metrics log {self.path!r}: {exc}; "
                        "records are dropped until it can be written",
                        file=sys.stderr,
                    )

    def _write(self, data: bytes) -> None:
        assert self.path is not None
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(data) > self._max_bytes:
            self._rotate()
        with open(self.path, "ab") as f:
            f.write(data)
        self._warned = False

    def _rotate(self) -> None:
        assert self.path is not None
        if self._backups == 0:
            os.truncate(self.path, 0)
            return
        for i in range(self._backups - 1, 0, -1):
            src = f"{self.path}.{i}"
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")
