"""The in-memory transport: ``memory://NAME``, a client and a server with no socket at all.

A server started at ``memory://NAME`` registers itself in this process
under ``NAME``; a client stub constructed with the same URL connects to it
through memory. The session, dispatcher and connection loops are the same
ones TCP uses: only the byte carrier differs, so what a test proves
through it holds for TCP too (like grpclib's testing channel)::

    with SrpcCalcServerStub("memory://calc", metrics_log=None):
        with SrpcCalcClientStub("memory://calc") as calc:
            assert calc.add(1, 2) == 3

Each end of a connection is either an :class:`asyncio.Transport` feeding an
event loop's protocol (servers, async stubs) or a :class:`MemoryStream`
(sync stubs, see :mod:`srpc.transport`). Bytes are copied once into the
receiver; a receiver that falls behind by ``HIGH_WATER`` bytes pauses the
sender's protocol (``pause_writing``) until it has read down to
``LOW_WATER``, as a socket's buffers would.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

from srpc.transport import QueuedStream

__all__ = ["SCHEME", "MemoryStream", "connect_async", "connect_sync", "listen", "name_of"]

SCHEME = "memory://"
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024

ProtocolFactory = Callable[[], asyncio.BufferedProtocol]


class _Peer(Protocol):
    """The receiving end, as its sender sees it."""

    def deliver(self, data: bytes) -> None: ...
    def deliver_eof(self) -> None: ...
    def buffered(self) -> int: ...
    def peer_drained(self) -> None: ...


class _Listener:
    def __init__(self, loop: asyncio.AbstractEventLoop, factory: ProtocolFactory) -> None:
        self.loop = loop
        self.factory = factory


_listeners: dict[str, _Listener] = {}
_lock = threading.Lock()
_ids = itertools.count(1)


def name_of(url: str) -> str:
    """``NAME`` of ``memory://NAME``."""
    name = url[len(SCHEME) :]
    if not name or "/" in name:
        raise ValueError(f"an in-memory address is memory://NAME, not {url!r}")
    return name


class Registration:
    """A server's place in the registry; ``close()`` stops new connections."""

    def __init__(self, name: str) -> None:
        self.name = name

    def close(self) -> None:
        with _lock:
            _listeners.pop(self.name, None)


def listen(url: str, loop: asyncio.AbstractEventLoop, factory: ProtocolFactory) -> Registration:
    """Accept connections to ``url`` with protocols from ``factory`` on ``loop``."""
    name = name_of(url)
    with _lock:
        if name in _listeners:
            raise OSError(f"{url} is already served in this process")
        _listeners[name] = _Listener(loop, factory)
    return Registration(name)


def _listener(url: str) -> _Listener:
    with _lock:
        listener = _listeners.get(name_of(url))
    if listener is None or listener.loop.is_closed():
        raise ConnectionRefusedError(f"no srpc server is serving {url} in this process")
    return listener


class _LoopTransport(asyncio.Transport):
    """One end of an in-memory connection, feeding a buffered protocol on an event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, peername: str) -> None:
        super().__init__()
        self.loop = loop
        self.protocol: asyncio.BufferedProtocol | None = None
        self.peer: _Peer | None = None
        self.peername = peername
        self.lock = threading.Lock()
        self.pending: collections.deque[bytes] = collections.deque()
        self.pending_bytes = 0
        self.reading_paused = False
        self.write_paused = False
        self.closing = False
        self.lost = False

    # -- the receiving side (bytes from the peer, any thread) ------------------

    def deliver(self, data: bytes) -> None:
        with self.lock:
            self.pending.append(data)
            self.pending_bytes += len(data)
        self._soon(self._drain)

    def deliver_eof(self) -> None:
        self._soon(self._connection_lost)

    def buffered(self) -> int:
        return self.pending_bytes

    def peer_drained(self) -> None:
        """The peer read some of what this end wrote (any thread)."""
        if self.write_paused:
            self._soon(self._maybe_resume_writing)

    def _soon(self, callback: Callable[[], None]) -> None:
        # RuntimeError: the loop is closed, nobody is left to receive.
        if not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(callback)

    def start(self, protocol: asyncio.BufferedProtocol) -> None:
        """Attach ``protocol`` and tell it the connection is made (on the loop)."""
        self.protocol = protocol
        protocol.connection_made(self)
        self._drain()

    def _drain(self) -> None:
        protocol = self.protocol
        while protocol is not None and not self.reading_paused and not self.lost:
            with self.lock:
                if not self.pending:
                    return
                data = self.pending.popleft()
            offset, end = 0, len(data)
            with memoryview(data) as view:
                while offset < end and not self.reading_paused and not self.lost:
                    buffer = memoryview(protocol.get_buffer(end - offset))
                    count = min(len(buffer), end - offset)
                    buffer[:count] = view[offset : offset + count]
                    offset += count
                    protocol.buffer_updated(count)
            with self.lock:
                if offset < end:  # paused mid-chunk: the rest waits for resume_reading
                    self.pending.appendleft(data[offset:])
                self.pending_bytes -= offset
            if self.peer is not None:
                self.peer.peer_drained()

    def _connection_lost(self) -> None:
        if self.lost:
            return
        self._drain()  # what arrived before the end is still read
        self.lost = True
        self.closing = True
        if self.protocol is not None:
            self.protocol.connection_lost(None)

    def _maybe_resume_writing(self) -> None:
        peer = self.peer
        if self.write_paused and (peer is None or peer.buffered() <= LOW_WATER):
            self.write_paused = False
            if self.protocol is not None:
                self.protocol.resume_writing()

    # -- asyncio.Transport -----------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        peer = self.peer
        if self.closing or peer is None:
            return
        peer.deliver(bytes(data))
        if not self.write_paused and peer.buffered() > HIGH_WATER:
            self.write_paused = True
            assert self.protocol is not None
            self.protocol.pause_writing()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        if self.reading_paused:
            self.reading_paused = False
            self.loop.call_soon(self._drain)

    def is_reading(self) -> bool:
        return not self.reading_paused

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.peer is not None:
            self.peer.deliver_eof()
        self.loop.call_soon(self._connection_lost)

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0 if self.peer is None else self.peer.buffered()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peername if name == "peername" else default


class MemoryStream(QueuedStream):
    """A sync client's end of an in-memory connection (a :mod:`srpc.transport` byte stream)."""

    what = "in-memory connection"

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.peer: _LoopTransport | None = None
        self.send_lock = threading.Lock()

    # -- what the peer calls (from the server's loop) ---------------------------

    deliver = QueuedStream.add
    deliver_eof = QueuedStream.end

    def buffered(self) -> int:
        return len(self.data)

    def peer_drained(self) -> None:
        """The server read what this end wrote; nothing to do: sends never block here."""

    # -- ByteStream --------------------------------------------------------------

    def sendall(self, data: bytes | bytearray) -> None:
        self._check_open()
        if self.peer is None:
            raise BrokenPipeError(f"{self.label}: the in-memory connection is closed")
        self.peer.deliver(bytes(data))

    def _taken(self, count: int) -> None:
        if self.peer is not None:
            self.peer.peer_drained()

    def _closing(self) -> None:
        if self.peer is not None:
            self.peer.deliver_eof()


def connect_sync(url: str) -> MemoryStream:
    """A sync client's stream to the server serving ``url``; raises ``ConnectionRefusedError``."""
    listener = _listener(url)
    number = next(_ids)
    stream = MemoryStream(url)
    server_end = _LoopTransport(listener.loop, f"memory-client-{number}")
    server_end.peer = stream
    stream.peer = server_end
    # Scheduled before anything the client sends, so the protocol exists when bytes arrive.
    listener.loop.call_soon_threadsafe(lambda: server_end.start(listener.factory()))
    return stream


def connect_async(
    url: str, loop: asyncio.AbstractEventLoop, protocol: asyncio.BufferedProtocol
) -> asyncio.Transport:
    """Connect ``protocol`` (on ``loop``, the running one) to the server serving ``url``."""
    listener = _listener(url)
    number = next(_ids)
    client_end = _LoopTransport(loop, url)
    server_end = _LoopTransport(listener.loop, f"memory-client-{number}")
    client_end.peer, server_end.peer = server_end, client_end
    listener.loop.call_soon_threadsafe(lambda: server_end.start(listener.factory()))
    client_end.start(protocol)
    return client_end
