"""Writes the server's metrics log: JSON lines describing finished calls, off the call path.

The call path only appends a tuple to a deque (``append``); a background
thread turns the queued tuples into JSON lines, appends them to the log in
one write per batch at least once a second, and rotates the file by size.

Below ``summarize_above`` calls/s every call is one line. Above it, a batch
is written as one summary line per procedure and wall-clock second, holding
the counts and a latency histogram in the same log-spaced buckets the
dashboard uses, so ``srpc-metrics`` shows the same counts and percentiles
either way while the log grows by about a byte per call instead of ~190.
The format is documented in ``docs/METRICS.md``.
"""

from __future__ import annotations

import math
import operator
import os
import secrets
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import msgspec

__all__ = [
    "GAMMA",
    "MIN_LATENCY_MS",
    "RELATIVE_ERROR",
    "MetricsWriter",
    "latency_bucket",
]

# finished (time.perf_counter()), proc, ok, latency_ms, error, peer, req_bytes, resp_bytes
_Pending = tuple[float, str, bool, float, "str | None", str, int, int]
_PendingStream = tuple[float, str, bool, float, "str | None", str, int, int, int, int]

_perf = time.perf_counter

_O_BINARY = getattr(os, "O_BINARY", 0)

_MAX_PENDING = 1_000_000
"""Records kept in memory while the log cannot be written; older ones are dropped past it."""

RELATIVE_ERROR = 0.01
"""Every value in a latency bucket is within this relative distance of its representative."""

GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
"""Ratio between the bounds of consecutive latency buckets."""

_INV_LOG_GAMMA = 1.0 / math.log(GAMMA)

MIN_LATENCY_MS = 1e-6
"""Latencies below this (1 ns) are counted apart (``hist_zero``), not in a bucket."""


def latency_bucket(latency_ms: float) -> int:
    """The histogram bucket of a latency of at least ``MIN_LATENCY_MS``: ``ceil(log_gamma(x))``.

    The writer's summaries and the dashboard both use exactly this, so a
    latency lands in the same bucket whether it was logged alone or summarised.
    """
    return math.ceil(math.log(latency_ms) * _INV_LOG_GAMMA)


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
    pid: int
    instance: str


class _StreamLine(_CallLine, gc=False):
    """One finished streaming call: a call line with the items each way."""

    items_in: int
    items_out: int


class _SummaryLine(msgspec.Struct, omit_defaults=True):
    """The calls of one procedure that finished in one wall-clock second (and one batch)."""

    ts: float
    """When the last of them finished; all of them finished in the whole second ``int(ts)``."""
    first_ts: float
    service: str
    proc: str
    calls: int
    failed: int
    latency_min_ms: float
    latency_max_ms: float
    hist: dict[int, int]
    req_bytes: int
    resp_bytes: int
    peers: int
    pid: int
    instance: str
    hist_zero: int = 0
    errors: dict[str, int] = {}
    last_error: str | None = None


class MetricsWriter:
    """Buffers call records in memory; a background thread appends them to the log.

    ``path=None`` turns metrics off: every method is then a no-op.
    ``flush_interval`` (seconds, at most 1) bounds how stale the file can be;
    the log rotates when a write would take it past ``max_bytes``, keeping
    ``backups`` older files as ``<path>.1`` (newest) ... ``<path>.<backups>``:
    by default at most 4 x 25 MiB = 100 MiB on disk.
    A batch that arrived faster than ``summarize_above`` calls/s is written as
    summary lines (``None``: never; ``0``: always). A server that has written
    nothing for ``heartbeat`` seconds writes an ``alive`` event, so a reader can
    tell an idle server from one that was killed.

    ``instance`` names this server in every line it writes (with ``pid``), so
    two servers sharing one log stay apart.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        service: str,
        flush_interval: float = 0.5,
        max_bytes: int = 25 * 1024 * 1024,
        backups: int = 3,
        summarize_above: float | None = 500.0,
        heartbeat: float = 10.0,
    ) -> None:
        if not 0 < flush_interval <= 1.0:
            raise ValueError(f"flush_interval must be in (0, 1] seconds, got {flush_interval!r}")
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes!r}")
        if backups < 0:
            raise ValueError(f"backups must be >= 0, got {backups!r}")
        if summarize_above is not None and not summarize_above >= 0:
            raise ValueError(f"summarize_above must be >= 0 calls/s, got {summarize_above!r}")
        if not heartbeat > 0:
            raise ValueError(f"heartbeat must be positive, got {heartbeat!r}")
        self.path = None if path is None else os.fspath(path)
        self.service = service
        self.instance = secrets.token_hex(6)
        """A random id naming this server in every line (12 hex digits)."""
        self.pid = os.getpid()
        self.dropped = 0
        """Lines dropped because the log could not be written."""
        self.summarized_batches = 0
        """Batches written as summary lines rather than one line per call."""
        self._flush_interval = flush_interval
        self._max_bytes = max_bytes
        self._backups = backups
        self._summarize_above = summarize_above
        self._heartbeat = heartbeat
        self._last_write = 0.0
        self._pending: deque[_Pending] = deque(maxlen=_MAX_PENDING)
        self.append: Callable[[_Pending], None] = self._pending.append
        """The call path's :meth:`record`: queue ``(time.perf_counter() when the call
        finished, proc, ok, latency_ms, error, peer, req_bytes, resp_bytes)`` without a method
        call or a wall-clock read (the writer converts the time). Only while ``path`` is set."""
        self.streams_open: Callable[[], int] | None = None
        """Set by the server: how many streaming calls are open now (logged as it changes)."""
        self._streams_logged = 0
        self._streams: deque[_PendingStream] = deque(maxlen=_MAX_PENDING)
        self.append_stream: Callable[[_PendingStream], None] = self._streams.append
        """:attr:`append` for a streaming call, with ``items_in, items_out`` after the
        others. Streaming calls are always logged one line each (``latency_ms`` covers the
        whole stream)."""
        self._encoder = msgspec.json.Encoder()
        # event fields come from the server (address, pid, ...): anything unusual becomes a string
        self._event_encoder = msgspec.json.Encoder(enc_hook=str)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._io_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warned = False
        self._last_take = _perf()

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
        self.pid = os.getpid()
        self._last_take = _perf()
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
        obj: dict[str, Any] = {
            "ts": time.time(),
            "service": self.service,
            "event": event,
            "pid": self.pid,
            "instance": self.instance,
        }
        obj.update(fields)
        obj["pid"], obj["instance"] = self.pid, self.instance  # the writer's own, always
        return self._event_encoder.encode(obj) + b"\n"

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if _perf() - self._last_write >= self._heartbeat:
                self._flush(after=self._streams_event() + self._event_line("alive", {}))
            else:
                self._flush(after=self._streams_event())

    def _streams_event(self) -> bytes:
        """A ``streams`` event with the streams open now, when that changed since the last."""
        gauge = self.streams_open
        if gauge is None:
            return b""
        try:
            open_now = int(gauge())
        except Exception:  # the server is going away
            return b""
        if open_now == self._streams_logged:
            return b""
        self._streams_logged = open_now
        return self._event_line("streams", {"open": open_now})

    def _take_batch(self) -> bytes:
        streams = self._take_streams()
        return streams + self._take_calls() if streams else self._take_calls()

    def _take_streams(self) -> bytes:
        pending = self._streams
        n = len(pending)
        if not n:
            return b""
        batch = [pending.popleft() for _ in range(n)]
        wall = time.time() - _perf()
        service, pid, instance = self.service, self.pid, self.instance
        lines = [
            _StreamLine(
                t + wall, service, proc, ok, (lat * 1e6 + 0.5) // 1 / 1e6, err, peer, rq, rs,
                pid, instance, items_in, items_out,
            )
            for t, proc, ok, lat, err, peer, rq, rs, items_in, items_out in batch
        ]  # fmt: skip
        return self._encoder.encode_lines(lines)

    def _take_calls(self) -> bytes:
        pending = self._pending
        n = len(pending)
        now = _perf()
        elapsed = now - self._last_take
        self._last_take = now
        if not n:
            return b""
        popleft = pending.popleft
        batch = [popleft() for _ in range(n)]
        wall = time.time() - _perf()  # perf_counter -> wall clock, once per batch
        limit = self._summarize_above
        if limit is not None and n > limit * max(elapsed, self._flush_interval):
            self.summarized_batches += 1
            return self._summary_lines(batch, wall)
        service, pid, instance = self.service, self.pid, self.instance
        # this thread shares the GIL with the calls: one comprehension, no method calls;
        # (x * 1e6 + 0.5) // 1 / 1e6 rounds to the nanosecond at a third of round(x, 6)'s cost
        lines = [
            _CallLine(
                t + wall,
                service,
                proc,
                ok,
                (lat * 1e6 + 0.5) // 1 / 1e6,
                err,
                peer,
                rq,
                rs,
                pid,
                instance,
            )
            for t, proc, ok, lat, err, peer, rq, rs in batch
        ]
        return self._encoder.encode_lines(lines)

    def _summary_lines(self, batch: list[_Pending], wall: float) -> bytes:
        groups: dict[tuple[int, str], list[_Pending]] = {}
        for rec in batch:
            key = (int(rec[0] + wall), rec[1])
            group = groups.get(key)
            if group is None:
                groups[key] = [rec]
            else:
                group.append(rec)
        lines = [self._summarize(proc, group, wall) for (_, proc), group in groups.items()]
        lines.sort(key=operator.attrgetter("ts"))
        return self._encoder.encode_lines(lines)

    def _summarize(self, proc: str, group: Sequence[_Pending], wall: float) -> _SummaryLine:
        times, _, oks, raw, errs, peers, rqs, rss = zip(*group, strict=True)
        lats = [(x * 1e6 + 0.5) // 1 / 1e6 for x in raw]  # as a call line would have logged it
        low = min(lats)
        zero = 0
        if low < MIN_LATENCY_MS:
            zero = sum(1 for x in lats if x < MIN_LATENCY_MS)
            lats = [x for x in lats if x >= MIN_LATENCY_MS]
        # latency_bucket() for each, as C-level iterators: this thread shares the GIL with calls
        logs = map(operator.mul, map(math.log, lats), repeat(_INV_LOG_GAMMA))
        hist = Counter(map(math.ceil, logs))
        failed = oks.count(False)
        errors: dict[str, int] = {}
        last_error = None
        if failed:
            named = [e or "error" for e, ok in zip(errs, oks, strict=True) if not ok]
            errors = dict(Counter(named))
            last_error = named[-1]
        return _SummaryLine(
            ts=max(times) + wall,
            first_ts=min(times) + wall,
            service=self.service,
            proc=proc,
            calls=len(group),
            failed=failed,
            latency_min_ms=low,
            latency_max_ms=max(lats) if lats else low,
            hist=dict(sorted(hist.items())),
            req_bytes=sum(rqs),
            resp_bytes=sum(rss),
            peers=len(set(peers)),
            pid=self.pid,
            instance=self.instance,
            hist_zero=zero,
            errors=errors,
            last_error=last_error,
        )

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
        # one O_APPEND write per batch: another server appending to the same log cannot land
        # inside a line
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _O_BINARY, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self._last_write = _perf()
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
