"""cProfile for every thread of a bench process, timed in per-thread CPU time.

CPU time (``time.thread_time``) rather than wall time, so a thread's share
does not include the time it sat switched out while its peer ran on the
same CPU. cProfile's own overhead inflates call-heavy code; read the
shares, not the absolute seconds.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

__all__ = ["ThreadProfiler"]


class ThreadProfiler:
    """Profiles the calling thread and every thread started after :meth:`start`."""

    def __init__(self, out: str) -> None:
        self.out = out
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self._dumped = False

    def _enable_here(self) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self._profiles.append(profile)
        profile.enable()

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        sys.setprofile(None)  # replaced by this thread's cProfile
        self._enable_here()

    def start(self) -> None:
        threading.setprofile(self._hook)
        self._enable_here()

    def dump(self) -> None:
        """Stop every profile and write the merged stats (once)."""
        if self._dumped:
            return
        self._dumped = True
        threading.setprofile(None)
        with self._lock:
            profiles = list(self._profiles)
        for p in profiles:
            p.disable()
        stats = pstats.Stats(profiles[0])
        for p in profiles[1:]:
            stats.add(p)
        stats.dump_stats(self.out)
