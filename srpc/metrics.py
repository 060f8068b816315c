"""Writes the server's metrics log: one JSON line per finished call, off the call path.

FIRST CUT (to be deepened by the metrics issue): the API below is what the
server uses and must stay; batching/rotation details may change.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque

__all__ = ["MetricsWriter"]


class MetricsWriter:
    """Buffers call records in memory; a background thread appends them to the log."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        service: str,
        flush_interval: float = 0.5,
        max_bytes: int = 50 * 1024 * 1024,
        backups: int = 3,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.service = service
        self._flush_interval = flush_interval
        self._max_bytes = max_bytes
        self._backups = backups
        self._pending: deque[dict[str, object]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, **fields: object) -> None:
        """Write the ``start`` event and begin flushing in the background."""
        if self.path is None:
            return
        self._pending.append({"ts": time.time(), "service": self.service, "event": "start", **fields})
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
        """Queue one finished call; never blocks on I/O."""
        if self.path is None:
            return
        self._pending.append(
            {
                "ts": time.time(),
                "service": self.service,
                "proc": proc,
                "ok": ok,
                "latency_ms": round(latency_ms, 6),
                "error": error,
                "peer": peer,
                "req_bytes": req_bytes,
                "resp_bytes": resp_bytes,
            }
        )

    def close(self, **fields: object) -> None:
        """Write the ``stop`` event, flush everything and stop the background thread."""
        if self.path is None or self._thread is None:
            return
        self._pending.append({"ts": time.time(), "service": self.service, "event": "stop", **fields})
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._flush_interval):
            self._flush()
        self._flush()

    def _flush(self) -> None:
        if not self._pending or self.path is None:
            return
        lines = []
        while self._pending:
            lines.append(json.dumps(self._pending.popleft(), separators=(", ", ": ")))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
