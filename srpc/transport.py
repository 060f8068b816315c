"""Byte streams under a sync client connection: a plain socket, a TLS socket, (and memory).

The sync connection in :mod:`srpc.client` moves bytes through one of these
and nothing else, so the same leader/follower loop runs over TCP, TLS and
the in-memory transport of :mod:`srpc.memory`. Every stream offers:

- ``sendall(data)`` and ``recv_into(buffer)``: blocking, safe to call from
  two threads at once (one sends while another reads);
- ``send_some(view)``: what it takes now without blocking, or
  :data:`WANTS_WRITE` / :data:`WANTS_READ`, and ``wait(wants, timeout)``
  for that, so a send can honour a call's deadline;
- ``send_parts(parts)``: a frame given as parts, without joining them where
  the stream can (``sendmsg``);
- ``readable(timeout)``: whether a read would return within ``timeout``;
- ``read_idle(buffer)``: what an idle stream holds, without blocking: the
  byte count read, 0 at the end of the stream, ``None`` when nothing is there
  (checked before a call is sent on an idle connection, never after: the
  server may have closed it, or said GoAway);
- ``close()``.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "WANTS_READ",
    "WANTS_WRITE",
    "ByteStream",
    "QueuedStream",
    "SocketStream",
    "TlsStream",
    "open_stream",
]

WANTS_WRITE = 0
WANTS_READ = -1
"""What a non-blocking send that sent nothing waits for (TLS may have to read first)."""


class ByteStream(Protocol):
    """What a sync connection needs from the bytes underneath it (see the module docstring)."""

    def sendall(self, data: bytes | bytearray, /) -> None: ...
    def recv_into(self, buffer: bytearray | memoryview, /) -> int: ...
    def send_some(self, data: memoryview) -> int: ...
    def wait(self, wants: int, timeout: float | None) -> bool: ...
    def send_parts(self, parts: list[bytes | bytearray]) -> None: ...
    def readable(self, timeout: float) -> bool: ...
    def read_idle(self, buffer: bytearray) -> int | None: ...
    def close(self) -> None: ...


class QueuedStream:
    """A byte stream whose incoming bytes are handed to it (``add``/``end``, from another
    thread: an event loop) and queued until a reader takes them; sends never wait. The
    in-memory transport's sync end and the sync stub's NATS link are this, each with its own
    ``sendall`` and what its peer is told (``_taken``, ``_closing``)."""

    what = "connection"
    """What the errors call it: "the <what> is closed"."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.data = bytearray()
        self.cond = threading.Condition()
        self.eof = False
        self.closed = False

    # -- the other side's --------------------------------------------------------------

    def add(self, data: bytes) -> None:
        with self.cond:
            self.data += data
            self.cond.notify_all()

    def end(self) -> None:
        """No more bytes will come: readers get what is queued, then end of stream."""
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _taken(self, count: int) -> None:
        """A reader took ``count`` bytes (outside the lock)."""

    def _closing(self) -> None:
        """This end was closed: tell the other side."""

    # -- ByteStream --------------------------------------------------------------------

    def sendall(self, data: bytes | bytearray) -> None:
        raise NotImplementedError

    def _check_open(self) -> None:
        if self.closed or self.eof:
            raise BrokenPipeError(f"{self.label}: the {self.what} is closed")

    def recv_into(self, buffer: bytearray | memoryview) -> int:
        with self.cond:
            while not self.data and not self.eof:
                if self.closed:
                    raise OSError(f"{self.label}: the {self.what} is closed")
                self.cond.wait()
            count = min(len(buffer), len(self.data))
            buffer[:count] = self.data[:count]
            del self.data[:count]
        if count:
            self._taken(count)
        return count

    def send_some(self, data: memoryview) -> int:
        self.sendall(bytes(data))
        return len(data)

    def wait(self, wants: int, timeout: float | None) -> bool:
        return True  # a send never has to wait

    def send_parts(self, parts: list[bytes | bytearray]) -> None:
        self.sendall(b"".join(parts))

    def readable(self, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(
                lambda: bool(self.data) or self.eof or self.closed, max(timeout, 0.0)
            )

    def read_idle(self, buffer: bytearray) -> int | None:
        with self.cond:
            if not self.data:
                return 0 if self.eof or self.closed else None
        return self.recv_into(buffer)

    def close(self) -> None:
        with self.cond:
            if self.closed:
                return
            self.closed = True
            self.cond.notify_all()
        self._closing()


def _wait_for(sock: socket.socket, wants: int, timeout: float | None) -> bool:
    """Wait (up to ``timeout`` seconds, ``None``: for ever) until the socket is ready for what a
    send that sent nothing answered (``WANTS_READ`` or ``WANTS_WRITE``); False: time ran out."""
    if timeout is not None and timeout <= 0:
        return False
    poller = select.poll()  # one per wait: a poll object is not for two threads at once
    poller.register(sock, select.POLLIN if wants == WANTS_READ else select.POLLOUT)
    return bool(poller.poll(None if timeout is None else timeout * 1000.0))


class SocketStream:
    """A connected plain socket in blocking mode, used by several threads at once."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # The socket's own methods: no Python frame per call.
        self.sendall: Callable[[bytes | bytearray], None] = sock.sendall
        self.recv_into: Callable[[bytearray | memoryview], int] = sock.recv_into
        self.pid = os.getpid()
        self._idle_poller = select.poll()  # peer_closed only
        self._idle_poller.register(sock, select.POLLIN)
        self._read_poller = select.poll()  # readable only (the holder of the reader role)
        self._read_poller.register(sock, select.POLLIN)

    def send_some(self, data: memoryview) -> int:
        try:
            return self.sock.send(data, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return WANTS_WRITE

    def wait(self, wants: int, timeout: float | None) -> bool:
        return _wait_for(self.sock, wants, timeout)

    def send_parts(self, parts: list[bytes | bytearray]) -> None:
        views = [memoryview(part) for part in parts if part]
        while views:
            sent = self.sock.sendmsg(views)
            while views and sent >= len(views[0]):
                sent -= len(views[0])
                del views[0]
            if sent:
                views[0] = views[0][sent:]

    def readable(self, timeout: float) -> bool:
        return bool(self._read_poller.poll(max(timeout, 0.0) * 1000.0))

    def read_idle(self, buffer: bytearray) -> int | None:
        # Poll first: a failing MSG_DONTWAIT recv costs an exception.
        try:
            if not self._idle_poller.poll(0):
                return None
        except RuntimeError:  # another thread is polling it right now: it checks for us
            return None
        try:
            return self.sock.recv_into(buffer, 0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return 0

    def close(self) -> None:
        if self.pid == os.getpid():  # after a fork, the parent's connection stays the parent's
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class TlsStream(SocketStream):
    """One TLS socket shared by threads: every OpenSSL call under one lock, every wait outside.

    OpenSSL does not let two threads use one SSL object at once, but a sync
    stub's threads do: one reads the replies while others send requests. A
    blocking read holding a lock would stall every sender until a reply came
    (which may need those requests), so the socket is non-blocking: a call
    takes the lock for one ``send`` or ``recv_into``, and when OpenSSL wants
    to read or write first it releases the lock and polls the descriptor.
    """

    def __init__(self, sock: ssl.SSLSocket) -> None:
        super().__init__(sock)
        sock.setblocking(False)
        self.tls = sock
        self.lock = threading.Lock()
        self.sendall = self._sendall
        self.recv_into = self._recv_into

    def send_some(self, data: memoryview) -> int:
        """One ``send`` under the lock: the byte count, or what OpenSSL waits for first."""
        with self.lock:
            try:
                return self.tls.send(data)
            except ssl.SSLWantReadError:
                return WANTS_READ
            except (ssl.SSLWantWriteError, BlockingIOError):
                return WANTS_WRITE

    def _sendall(self, data: bytes | bytearray) -> None:
        with memoryview(data) as view:
            start, end = 0, len(view)
            while start < end:
                sent = self.send_some(view[start:])
                if sent > 0:
                    start += sent
                else:
                    _wait_for(self.tls, sent, None)

    def _recv_into(self, buffer: bytearray | memoryview) -> int:
        while True:
            with self.lock:
                try:
                    return self.tls.recv_into(buffer)
                except ssl.SSLWantReadError:
                    wants = WANTS_READ
                except ssl.SSLWantWriteError:
                    wants = WANTS_WRITE
            _wait_for(self.tls, wants, None)

    def send_parts(self, parts: list[bytes | bytearray]) -> None:
        self._sendall(b"".join(parts))  # no sendmsg on TLS sockets

    def readable(self, timeout: float) -> bool:
        # Decrypted bytes the TLS layer holds are invisible to a poll on the descriptor.
        return bool(self.tls.pending()) or super().readable(timeout)

    def read_idle(self, buffer: bytearray) -> int | None:
        try:
            if not self.tls.pending() and not self._idle_poller.poll(0):
                return None
        except RuntimeError:
            return None
        with self.lock:  # non-blocking: it never waits here
            try:
                return self.tls.recv_into(buffer)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return None  # TLS records with no data for us (e.g. session tickets)
            except OSError:
                return 0


def open_stream(
    host: str, port: int, timeout: float, context: ssl.SSLContext | None
) -> SocketStream:
    """A connected TCP (or TLS) stream; raises ``OSError``. Blocking once connected."""
    from srpc.security import set_nodelay

    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        set_nodelay(sock)
        if context is not None:
            tls = context.wrap_socket(sock, server_hostname=host)
            return TlsStream(tls)
        sock.settimeout(None)
        return SocketStream(sock)
    except BaseException:
        sock.close()
        raise
