"""Sans-IO length-prefixed framing: a 4-byte unsigned big-endian length, then that many bytes.

Nothing here touches a socket: :class:`FrameDecoder` is fed whatever bytes
arrived and hands back the complete frames; :func:`encode_frame` prefixes a
payload. Sync and async transports are thin loops around the two.
"""

from __future__ import annotations

import struct
import sys
import threading
from typing import Any

import msgspec

from srpc.errors import ProtocolError

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER_SIZE",
    "RECV_SIZE",
    "FrameBuffers",
    "FrameDecoder",
    "encode_frame",
    "frame_into",
    "join_frame",
    "new_frame",
    "prefix_parts",
]

HEADER_SIZE = 4
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
"""Largest frame payload accepted by default (64 MiB); configurable per decoder."""

_MAX_LENGTH = 0xFFFFFFFF
LARGE_FRAME = 64 * 1024
"""Frames at least this big that span reads are received into a buffer of their own size."""
RECV_SIZE = 256 * 1024
"""Bytes a transport asks for per read (into a buffer it reuses)."""
_unpack_header = struct.Struct(">I").unpack_from
_pack_header = struct.Struct(">I").pack_into
_refcount = sys.getrefcount
_SPARE_REFS = 3  # self._spare, the local name, getrefcount's argument
_MAX_SPARE = 2 * 1024 * 1024  # a finished large frame's buffer kept for reuse up to this size


def encode_frame(payload: bytes | bytearray | memoryview) -> bytes:
    """Return ``payload`` with its 4-byte big-endian length prefix."""
    return _header(len(payload)) + bytes(payload)


def _header(size: int) -> bytes:
    if size > _MAX_LENGTH:
        raise ProtocolError(f"frame of {size} bytes exceeds the 4 GiB framing limit")
    return size.to_bytes(4, "big")


def frame_into(encoder: msgspec.msgpack.Encoder, value: Any, buffer: bytearray) -> bytearray:
    """``value`` encoded into ``buffer`` (replacing what it held) behind its length prefix.

    The one place a frame's prefix is written for an encoded message: the
    payload goes straight in after a 4-byte gap, so no copy is made to
    prefix it.
    """
    encoder.encode_into(value, buffer, HEADER_SIZE)
    _pack_header(buffer, 0, len(buffer) - HEADER_SIZE)
    return buffer


def new_frame(encoder: msgspec.msgpack.Encoder, value: Any) -> bytearray:
    """``value`` as one complete frame in a fresh buffer."""
    return frame_into(encoder, value, bytearray(HEADER_SIZE))


def join_frame(head: bytes, body: bytes | bytearray) -> bytes:
    """The frame of ``head + body`` (one copy of each, the prefix in front)."""
    return b"".join((_header(len(head) + len(body)), head, body))


def prefix_parts(parts: list[bytes | bytearray]) -> list[bytes | bytearray]:
    """A frame sent as parts back to back (large values are never copied into a frame buffer):
    ``parts[0]`` is a placeholder replaced by the length prefix of the others."""
    size = 0
    for part in parts[1:]:
        size += len(part)
    parts[0] = _header(size)
    return parts


class FrameBuffers:
    """Per-thread frame buffers, each reused once nothing else holds it.

    A thread encodes every frame into the buffer of its previous one when
    that buffer is free again (its bytes were sent or copied by the
    transport): large frames then cost no fresh allocation, which malloc
    would hand back to the OS and fault in again on every call.
    """

    _REFS = 3  # the thread-local slot, the local name, getrefcount's argument

    def __init__(self) -> None:
        self._local = threading.local()

    def encode(self, encoder: msgspec.msgpack.Encoder, value: Any) -> bytearray:
        """``value`` as one complete frame, in this thread's reused buffer."""
        local = self._local
        try:
            buffer: bytearray = local.buffer
        except AttributeError:
            buffer = local.buffer = bytearray(HEADER_SIZE)
        if _refcount(buffer) > self._REFS:  # still referenced (e.g. by an exception's traceback)
            buffer = local.buffer = bytearray(HEADER_SIZE)
        try:
            encoder.encode_into(value, buffer, HEADER_SIZE)
        except BaseException:
            local.buffer = bytearray(HEADER_SIZE)
            raise
        _pack_header(buffer, 0, len(buffer) - HEADER_SIZE)  # as frame_into, minus a call
        return buffer


class FrameDecoder:
    """Accumulates bytes and yields complete frame payloads.

    The buffer never holds more than one partial frame plus one read's worth
    of bytes: a declared length over ``max_frame`` raises
    :class:`~srpc.errors.ProtocolError` as soon as the 4-byte header is seen,
    before anything is allocated for the body.

    A large frame (``LARGE_FRAME`` bytes or more) that is not complete in one
    read gets a buffer of its own; the rest of its body is copied or, through
    :meth:`body_buffer` and :meth:`body_received`, read straight into that
    buffer, and the buffer itself (a ``bytearray``) is the frame. The buffer
    starts at eight times the bytes already received (at least
    ``LARGE_FRAME``) and doubles as they arrive, so memory follows what a
    peer sent, not what it declared; ``eager=True`` (a client reading its
    server) allocates the declared size at once. The last large frame's
    buffer (up to 2 MiB) is reused for the next one of the same size once
    nothing references it.
    """

    __slots__ = (
        "_buffer",
        "_declared",
        "_filled",
        "_needed",
        "_spare",
        "body",
        "eager",
        "max_frame",
    )

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, *, eager: bool = False) -> None:
        if max_frame < 0:
            raise ValueError("max_frame must be >= 0")
        self.max_frame = max_frame
        self.eager = eager  # allocate a large frame's declared size at once (trusted peers)
        self._declared = 0
        self._buffer = bytearray()
        self._needed = -1  # body length of the frame being read, -1 while the header is incomplete
        self.body: bytearray | None = None
        """The large frame being filled in place, or ``None`` (read-only outside this class)."""
        self._filled = 0
        self._spare: bytearray | None = None  # the last large frame, reused once unreferenced

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        if self.body is not None:
            return HEADER_SIZE + self._filled
        return len(self._buffer) + (HEADER_SIZE if self._needed >= 0 else 0)

    def body_buffer(self) -> memoryview | None:
        """Where the rest of a large frame's body should be read to, or ``None``.

        Reading at most ``len()`` of it and passing the count to
        :meth:`body_received` is the same as :meth:`feed` with those bytes, minus a copy.
        """
        body = self.body
        if body is None:
            return None
        filled = self._filled
        if filled == len(body):  # full but the frame is not: grow (never resized in place,
            body = self._grow(body)  # a view handed out earlier may still be alive)
        return memoryview(body)[filled:]

    def _grow(self, body: bytearray) -> bytearray:
        bigger = bytearray(min(self._declared, 2 * len(body)))
        filled = self._filled
        with memoryview(body) as view:
            bigger[:filled] = view[:filled]
        self.body = bigger
        return bigger

    def body_received(self, nbytes: int) -> list[bytes | bytearray]:
        """``nbytes`` were written at the start of :meth:`body_buffer`'s view."""
        body = self.body
        assert body is not None
        filled = self._filled + nbytes
        if filled < self._declared:
            self._filled = filled
            return []
        self.body = None
        self._filled = 0
        if len(body) <= _MAX_SPARE:
            self._spare = body
        return [body]

    def exact_frame(self, buffer: bytearray, nbytes: int) -> bytearray | None:
        """The frame in ``buffer[:nbytes]`` when those bytes are exactly one whole frame and
        nothing is buffered (the usual reply to a sequential call); else ``None``, and
        nothing was consumed: pass the same bytes to :meth:`feed_from`."""
        if nbytes >= HEADER_SIZE and self.body is None and self._needed < 0 and not self._buffer:
            (needed,) = _unpack_header(buffer, 0)
            if needed + HEADER_SIZE == nbytes and needed <= self.max_frame:
                return buffer[HEADER_SIZE:nbytes]
        return None

    def feed_from(self, buffer: bytearray, nbytes: int) -> list[bytes | bytearray]:
        """:meth:`feed` with ``buffer[:nbytes]`` (a reused receive buffer); faster for one frame,
        and for many small ones (each sliced out of the buffer: one object per frame)."""
        frame = self.exact_frame(buffer, nbytes)
        if frame is not None:
            return [frame]  # the usual case: exactly one frame
        if self.body is not None or self._needed >= 0 or self._buffer:
            return self.feed(memoryview(buffer)[:nbytes])
        frames: list[bytes | bytearray] = []
        start = 0
        limit = self.max_frame
        while nbytes - start >= HEADER_SIZE:
            (needed,) = _unpack_header(buffer, start)
            if needed > limit or nbytes - start - HEADER_SIZE < needed:
                break  # over the limit, or not whole: feed() says so, or keeps the tail
            start += HEADER_SIZE
            frames.append(buffer[start : start + needed])
            start += needed
        if start < nbytes:
            frames += self.feed(memoryview(buffer)[start:nbytes])
        return frames

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes | bytearray]:
        """Add ``data``; return every frame it completes, in order (possibly none)."""
        frames: list[bytes | bytearray]
        body = self.body
        if body is not None:
            filled = self._filled
            take = min(self._declared - filled, len(data))
            while len(body) < filled + take:
                body = self._grow(body)
            body[filled : filled + take] = data[:take]
            frames = self.body_received(take)
            if take == len(data):
                return frames
            return frames + self.feed(memoryview(data)[take:])
        buffer = self._buffer
        if not buffer and self._needed < 0:
            # Fast path: frames parsed straight from ``data``; only a partial tail is kept.
            end = len(data)
            if end >= HEADER_SIZE:
                (needed,) = _unpack_header(data, 0)
                if needed + HEADER_SIZE == end and needed <= self.max_frame:
                    return [bytes(data[HEADER_SIZE:])]  # the usual case: exactly one frame
            frames = []
            start = 0
            while end - start >= HEADER_SIZE:
                (needed,) = _unpack_header(data, start)
                if needed > self.max_frame:
                    raise ProtocolError(
                        f"frame length {needed} exceeds the limit of {self.max_frame} bytes"
                    )
                if end - start - HEADER_SIZE < needed:
                    if needed >= LARGE_FRAME:
                        start += HEADER_SIZE
                        self._start_body(needed, memoryview(data)[start:])
                        return frames
                    break
                start += HEADER_SIZE
                frames.append(bytes(data[start : start + needed]))
                start += needed
            if start == end:
                return frames
            data = memoryview(data)[start:]
        else:
            frames = []
        buffer += data
        start = 0
        end = len(buffer)
        needed = self._needed
        while True:
            if needed < 0:
                if end - start < HEADER_SIZE:
                    break
                (needed,) = _unpack_header(buffer, start)
                if needed > self.max_frame:
                    # Drop everything: the connection is about to be closed.
                    self._buffer = bytearray()
                    self._needed = -1
                    raise ProtocolError(
                        f"frame length {needed} exceeds the limit of {self.max_frame} bytes"
                    )
                start += HEADER_SIZE
            if end - start < needed:
                if needed >= LARGE_FRAME:
                    self._start_body(needed, memoryview(buffer)[start:end])
                    self._buffer = bytearray()
                    self._needed = -1
                    return frames
                break
            frames.append(bytes(buffer[start : start + needed]))
            start += needed
            needed = -1
        self._needed = needed
        if start:
            del buffer[:start]
        return frames

    def _start_body(self, needed: int, head: memoryview) -> None:
        # Reuse the last large frame's buffer when nothing references it any more (its
        # message was decoded and dropped): a fresh 1 MiB allocation per frame makes malloc
        # return memory to the OS and fault it back in on every call.
        spare = self._spare
        size = len(head)
        if spare is not None and len(spare) == needed and _refcount(spare) <= _SPARE_REFS:
            body = spare
        elif self.eager:
            body = bytearray(needed)
        else:
            # Memory follows the bytes that arrived, not the length a peer declared: a peer
            # that declares 60 MiB and sends 100 kB costs about 1 MiB, not 60.
            body = bytearray(min(needed, max(8 * size, LARGE_FRAME)))
        body[:size] = head
        head.release()
        self.body = body
        self._filled = size
        self._declared = needed
