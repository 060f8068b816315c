"""Follows the metrics log like ``tail -F``: what it holds, then what is appended.

``LogFollower.poll()`` returns the complete lines that appeared since the
last poll, as one ``bytes`` block. It waits for a log that does not exist
yet, reads a rotated file to its end before switching to the new one (the
inode changed), and starts over when the file shrinks (truncated).
A trailing partial line is held back until its newline arrives.

When the log first opens, its rotated backups (``LOG.N`` ... ``LOG.1``,
oldest first, as :class:`srpc.metrics.MetricsWriter` names them) are read
before it, so the history the writer kept is part of what is shown.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LogFollower"]

_CHUNK = 4 * 1024 * 1024
_MAX_PARTIAL = 1024 * 1024
"""A line longer than this without a newline is dropped (and counted as malformed)."""
_MAX_BACKUPS = 1000


class LogFollower:
    """Incremental reader of one log path; survives rotation and truncation."""

    def __init__(self, path: str | os.PathLike[str], *, chunk: int = _CHUNK) -> None:
        self.path = Path(path)
        self.rotations = 0
        self.truncations = 0
        self.dropped_partial = 0
        self._chunk = chunk
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self._pos = 0
        self._partial = b""
        self.advanced = False
        self.backups_read = 0
        self._backups: list[int] | None = None  # fds of unread backups, oldest first

    @property
    def exists(self) -> bool:
        return self._fd is not None or self.path.exists()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._ident = None
        for fd in self._backups or ():
            os.close(fd)
        if self._backups:
            self._backups = []

    def __enter__(self) -> LogFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, limit: int | None = None) -> bytes:
        """Complete lines appended since the last poll (at most about ``limit`` bytes)."""
        self.advanced = False
        out: list[bytes] = []
        budget = self._chunk if limit is None else limit
        if self._fd is None and not self._open():
            return b""
        if self._backups:
            return self._read_backup(budget)
        out.append(self._read(budget))
        if not out[-1] or len(out[-1]) < budget:
            switched = self._check_replaced()
            if switched:
                out.append(self._read(budget))
        return b"".join(out)

    def read_all(self) -> bytes:
        """Everything the log holds now, as complete lines (for one-shot snapshots)."""
        blocks: list[bytes] = []
        while True:
            block = self.poll()
            if not block and not self.advanced:
                return b"".join(blocks)
            blocks.append(block)

    # -- internals ------------------------------------------------------------

    def _open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return False
        st = os.fstat(fd)
        self._fd = fd
        self._ident = (st.st_dev, st.st_ino)
        self._pos = 0
        self._partial = b""
        if self._backups is None:  # the first open: the history before it comes first
            self._backups = self._open_backups()
        return True

    def _open_backups(self) -> list[int]:
        """``LOG.N`` ... ``LOG.1`` that exist, opened now (oldest first; a rotation while they
        are read renames them, the open files stay the same). A backup that is the file
        just opened as the log (rotated in between) is left to the log."""
        fds: list[int] = []
        for n in range(1, _MAX_BACKUPS + 1):
            try:
                fd = os.open(f"{self.path}.{n}", os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                break
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == self._ident:
                os.close(fd)
                continue
            fds.append(fd)
        fds.reverse()
        return fds

    def _read_backup(self, budget: int) -> bytes:
        """The next complete lines of the oldest unread backup; closes it at its end."""
        assert self._backups
        fd = self._backups[0]
        data = os.read(fd, budget)
        self.advanced = True  # until every backup is read, there is more to come
        if data:
            return self._complete_lines(data)
        os.close(self._backups.pop(0))
        self.backups_read += 1
        if self._partial:  # a backup ends with whole lines; anything else is dropped
            self.dropped_partial += 1
            self._partial = b""
        return b""

    def _read(self, budget: int) -> bytes:
        assert self._fd is not None
        try:
            size = os.fstat(self._fd).st_size
        except OSError:
            return b""
        if size < self._pos:
            self.truncations += 1
            self._pos = 0
            self._partial = b""
        want = min(budget, size - self._pos)
        if want <= 0:
            return b""
        os.lseek(self._fd, self._pos, os.SEEK_SET)  # not pread: Windows has none
        data = os.read(self._fd, want)
        self._pos += len(data)
        self.advanced = self.advanced or bool(data)
        return self._complete_lines(data)

    def _complete_lines(self, data: bytes) -> bytes:
        cut = data.rfind(b"\n")
        if cut < 0:
            self._partial += data
            if len(self._partial) > _MAX_PARTIAL:
                self.dropped_partial += 1
                self._partial = b""
            return b""
        head = self._partial + data[: cut + 1] if self._partial else data[: cut + 1]
        self._partial = data[cut + 1 :]
        return head

    def _check_replaced(self) -> bool:
        """Switch to a new file at the path if the old one was rotated away; True if switched."""
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return False  # rotated and not recreated yet: keep reading the old one
        if (st.st_dev, st.st_ino) == self._ident:
            return False
        # the old file has been read to its end by the caller; a partial last line stays partial
        self.close()
        self.rotations += 1
        return self._open()
