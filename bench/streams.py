"""The stream workloads S1-S3: what each measures, their sizes, and the loops' units.

A contestant that streams provides, next to ``start_server``/``connect``:

- ``start_stream_server() -> RunningServer``: serve the stream service
  (``count(n)``, ``blobs(n, size)``, ``upload(chunks)``) on 127.0.0.1 port 0;
- ``connect_streams(port) -> StreamOps`` (or ``async connect_streams_async``):
  ``count(n)`` and ``blobs(n, size)`` return an iterator (async: an async
  iterator) with ``close()`` (async: ``aclose()``); ``upload(chunks)`` sends
  an iterable of bytes and returns the bytes the server read.

The timing loops of :mod:`bench.common` time "calls"; for S1 and S2 one call
is taking the next ``S1_BATCH`` / ``S2_BATCH`` items of a long server stream
(opening the next stream when one ends), so a slice of the interleaved
measurement may end in the middle of a stream and the next slice continues
it. For S3 one call is one whole upload of ``S3_UPLOAD`` bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

__all__ = [
    "CHUNK",
    "S1_BATCH",
    "S1_ITEMS",
    "S2_BATCH",
    "S2_ITEMS",
    "S3_UPLOAD",
    "STREAM_WORKLOADS",
    "AsyncPuller",
    "Puller",
    "chunks",
    "units",
]

STREAM_WORKLOADS = ("S1", "S2", "S3")

S1_ITEMS = 100_000  # count(100_000): one stream
S1_BATCH = 1_000  # items per timed "call"
CHUNK = 64 * 1024  # S2's items and S3's chunks: 64 KiB
S2_ITEMS = 4096  # blobs(4096, 64 KiB): 256 MiB per stream
S2_BATCH = 16  # 1 MiB per timed "call"
S3_UPLOAD = 64 * 1024 * 1024  # one upload: 1024 chunks of 64 KiB (1 GiB = 16 of them)


def units(workload: str, s3_bytes: int = S3_UPLOAD) -> tuple[int, int]:
    """(items, bytes) one timed call of ``workload`` moves."""
    if workload == "S1":
        return S1_BATCH, 0
    if workload == "S2":
        return S2_BATCH, S2_BATCH * CHUNK
    return s3_bytes // CHUNK, s3_bytes


_CHUNK_DATA = bytes(range(256)) * (CHUNK // 256)


def chunks(total: int) -> Iterator[bytes]:
    """``total`` bytes as 64 KiB chunks (the same object each time, as a file read would not)."""
    data = _CHUNK_DATA
    for _ in range(total // CHUNK):
        yield data


class StreamOps(Protocol):
    def count(self, n: int) -> Iterator[int]: ...
    def blobs(self, n: int, size: int) -> Iterator[bytes]: ...
    def upload(self, chunks: Iterable[bytes]) -> int: ...
    def close(self) -> None: ...


class AsyncStreamOps(Protocol):
    def count(self, n: int) -> AsyncIterator[int]: ...
    def blobs(self, n: int, size: int) -> AsyncIterator[bytes]: ...
    def upload(self, chunks: Iterable[bytes]) -> Awaitable[int]: ...
    def close(self) -> Awaitable[None]: ...


class Puller:
    """Takes ``batch`` items per call from streams of ``length`` items, opened as needed.

    Every stream must deliver exactly ``length`` items (checked as each one ends).
    """

    def __init__(self, open_stream: Callable[[], Iterator[Any]], length: int, batch: int) -> None:
        self.open_stream = open_stream
        self.length = length
        self.batch = batch
        self.current: Iterator[Any] | None = None
        self.taken = 0  # items of the current stream so far
        self.streams = 0

    def __call__(self) -> None:
        need = self.batch
        islice = itertools.islice
        while need:
            it = self.current
            if it is None:
                it = self.current = self.open_stream()
                self.taken = 0
                self.streams += 1
            got = len(list(islice(it, need)))
            self.taken += got
            need -= got
            if got == 0 or self.taken == self.length:
                if next(it, None) is not None or self.taken != self.length:
                    raise AssertionError(f"a stream of {self.length} items had {self.taken}+")
                self.current = None

    def close(self) -> None:
        it, self.current = self.current, None
        close = getattr(it, "close", None)
        if close is not None:
            close()


class AsyncPuller:
    """:class:`Puller` for async iterators."""

    def __init__(
        self, open_stream: Callable[[], AsyncIterator[Any]], length: int, batch: int
    ) -> None:
        self.open_stream = open_stream
        self.length = length
        self.batch = batch
        self.current: AsyncIterator[Any] | None = None
        self.taken = 0
        self.streams = 0

    async def __call__(self) -> None:
        need = self.batch
        while need:
            it = self.current
            if it is None:
                it = self.current = self.open_stream()
                self.taken = 0
                self.streams += 1
            got = 0
            async for _ in it:
                got += 1
                if got == need:
                    break
            self.taken += got
            need -= got
            if got == 0 or self.taken == self.length:
                extra = [x async for x in it]
                if extra or self.taken != self.length:
                    raise AssertionError(f"a stream of {self.length} items had {self.taken}+")
                self.current = None

    async def close(self) -> None:
        it, self.current = self.current, None
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


# -- the stream scripts (bench.streams_memory, bench.cancel_latency) -----------------------


class ServerProcess:
    """``python -m bench.serve srpc --streams`` as a child process: its port, pid and RSS."""

    def __init__(self, cpu: int | None = None) -> None:
        import os
        import subprocess
        import sys

        from bench.gen import REPO_ROOT, SRPC_SERVICE_DIR

        env = {k: v for k, v in os.environ.items() if not k.startswith("SRPC_")}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), str(SRPC_SERVICE_DIR), *filter(None, [env.get("PYTHONPATH")])]
        )
        argv = [sys.executable, "-m", "bench.serve", "srpc", "--streams"]
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "BENCH_PORT":
            self.stop()
            raise RuntimeError(f"the stream server did not start (said {line!r})")
        self.port = int(line[1])
        self.pid = self.proc.pid

    def rss_mib(self) -> float:
        return rss_mib(self.pid)

    def stop(self) -> None:
        import contextlib
        import subprocess

        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # bench.serve exits when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def rss_mib(pid: int | str = "self") -> float:
    """A process's resident set size (VmRSS in /proc/PID/status), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
