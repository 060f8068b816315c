"""Daemon worker threads, started as work needs them: the server's pool for plain-def
implementations and the caller's pool for plain-def callbacks."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["WorkerPool"]

log = logging.getLogger("srpc")


class WorkerPool:
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
        self.lent = 0
        """Threads that wait for a client's callback answer: the pool may start as many more
        (it never runs out of threads for the nested calls those callbacks make)."""

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("the worker pool is shut down")
        self.queue.put((fn, args))
        if (
            not self.idle.acquire(blocking=False)
            and len(self.threads) < self.max_workers + self.lent
        ):
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
