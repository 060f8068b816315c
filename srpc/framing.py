"""Sans-IO length-prefixed framing: a 4-byte unsigned big-endian length, then that many bytes.

Nothing here touches a socket: :class:`FrameDecoder` is fed whatever bytes
arrived and hands back the complete frames; :func:`encode_frame` prefixes a
payload. Sync and async transports are thin loops around the two.
"""

from __future__ import annotations

import struct

from srpc.errors import ProtocolError

__all__ = ["DEFAULT_MAX_FRAME", "HEADER_SIZE", "FrameDecoder", "encode_frame"]

HEADER_SIZE = 4
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
"""Largest frame payload accepted by default (64 MiB); configurable per decoder."""

_MAX_LENGTH = 0xFFFFFFFF
_unpack_header = struct.Struct(">I").unpack_from


def encode_frame(payload: bytes | bytearray | memoryview) -> bytes:
    """Return ``payload`` with its 4-byte big-endian length prefix."""
    size = len(payload)
    if size > _MAX_LENGTH:
        raise ProtocolError(f"frame of {size} bytes exceeds the 4 GiB framing limit")
    return size.to_bytes(4, "big") + bytes(payload)


class FrameDecoder:
    """Accumulates bytes and yields complete frame payloads.

    The buffer never holds more than one partial frame plus one read's worth
    of bytes: a declared length over ``max_frame`` raises
    :class:`~srpc.errors.ProtocolError` as soon as the 4-byte header is seen,
    before anything is allocated for the body.
    """

    __slots__ = ("_buffer", "_needed", "max_frame")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < 0:
            raise ValueError("max_frame must be >= 0")
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._needed = -1  # body length of the frame being read, -1 while the header is incomplete

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer) + (HEADER_SIZE if self._needed >= 0 else 0)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add ``data``; return every frame it completes, in order (possibly none)."""
        buffer = self._buffer
        if not buffer and self._needed < 0:
            # Fast path: frames parsed straight from ``data``; only a partial tail is kept.
            end = len(data)
            if end >= HEADER_SIZE:
                (needed,) = _unpack_header(data, 0)
                if needed + HEADER_SIZE == end and needed <= self.max_frame:
                    return [bytes(data[HEADER_SIZE:])]  # the usual case: exactly one frame
            frames: list[bytes] = []
            start = 0
            while end - start >= HEADER_SIZE:
                (needed,) = _unpack_header(data, start)
                if needed > self.max_frame:
                    raise ProtocolError(
                        f"frame length {needed} exceeds the limit of {self.max_frame} bytes"
                    )
                if end - start - HEADER_SIZE < needed:
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
                needed = int.from_bytes(buffer[start : start + HEADER_SIZE], "big")
                if needed > self.max_frame:
                    # Drop everything: the connection is about to be closed.
                    self._buffer = bytearray()
                    self._needed = -1
                    raise ProtocolError(
                        f"frame length {needed} exceeds the limit of {self.max_frame} bytes"
                    )
                start += HEADER_SIZE
            if end - start < needed:
                break
            frames.append(bytes(buffer[start : start + needed]))
            start += needed
            needed = -1
        self._needed = needed
        if start:
            del buffer[:start]
        return frames
