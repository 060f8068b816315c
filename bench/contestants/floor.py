"""The floor: the least an RPC over TCP can do in Python.

Blocking sockets, a 4-byte big-endian length prefix, MessagePack bodies, one
thread per connection, no ids, no handshake, no type checks. A request is
``[proc, args]``; a reply is ``[ok, value]``. ``records`` (and ``records_struct``,
W4s) return plain dicts.

It uses ``msgpack``; where that is not installed (the test suite's venv) it
falls back to ``msgspec.msgpack``, and says so in the results.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from bench.common import record_dicts

try:
    import msgpack  # type: ignore[import-untyped, import-not-found, unused-ignore]

    def _packb(obj: Any) -> bytes:
        return msgpack.packb(obj)  # type: ignore[no-any-return]

    def _unpackb(data: bytes | bytearray) -> Any:
        return msgpack.unpackb(data)

    CODEC = f"msgpack {msgpack.version}"
except ImportError:  # pragma: no cover - depends on the venv
    import msgspec

    def _packb(obj: Any) -> bytes:
        return msgspec.msgpack.encode(obj)

    def _unpackb(data: bytes | bytearray) -> Any:
        return msgspec.msgpack.decode(data)

    CODEC = "msgspec.msgpack (msgpack not installed)"

_HEADER = struct.Struct(">I")


def _recv_exact(sock: socket.socket, n: int) -> bytes | bytearray:
    data = sock.recv(n)
    if len(data) == n:
        return data
    if not data:
        raise ConnectionError("peer closed")
    buf = bytearray(n)
    buf[: len(data)] = data
    view = memoryview(buf)
    got = len(data)
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            raise ConnectionError("peer closed")
        got += k
    return buf


def _recv_frame(sock: socket.socket) -> bytes | bytearray:
    (n,) = _HEADER.unpack(_recv_exact(sock, 4))
    return _recv_exact(sock, n)


def _send_frame(sock: socket.socket, body: bytes) -> None:
    sock.sendall(_HEADER.pack(len(body)) + body)


class _Impl:
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo_array(self, dtype: str, shape: list[int], data: bytes) -> list[Any]:
        """W6: the array rebuilt from dtype, shape and raw bytes, and sent back the same way."""
        import numpy as np

        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        return [array.dtype.str, list(array.shape), array.tobytes()]

    def echo(self, data: bytes) -> bytes:
        return data

    def records(self, n: int = 100) -> list[dict[str, Any]]:
        return record_dicts(n)


class FloorServer:
    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        impl = _Impl()
        self._procs: dict[str, Callable[..., Any]] = {
            "add": impl.add,
            "echo": impl.echo,
            "records": impl.records,
            "records_struct": impl.records,  # W4s: the floor sends the same dicts as for W4
            "echo_array": impl.echo_array,
        }
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        procs = self._procs
        with conn:
            while True:
                try:
                    proc, args = _unpackb(_recv_frame(conn))
                except (ConnectionError, OSError):
                    return
                try:
                    reply = [True, procs[proc](*args)]
                except Exception as exc:
                    reply = [False, f"{type(exc).__name__}: {exc}"]
                try:
                    _send_frame(conn, _packb(reply))
                except OSError:
                    return

    def stop(self) -> None:
        self._sock.close()


class FloorClient:
    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _call(self, proc: str, args: list[Any]) -> Any:
        _send_frame(self._sock, _packb([proc, args]))
        ok, value = _unpackb(_recv_frame(self._sock))
        if not ok:
            raise RuntimeError(value)
        return value

    def add(self, a: int, b: int) -> int:
        return self._call("add", [a, b])  # type: ignore[no-any-return]

    def echo(self, data: bytes) -> bytes:
        return self._call("echo", [data])  # type: ignore[no-any-return]

    def records(self, n: int = 100) -> list[dict[str, Any]]:
        return self._call("records", [n])  # type: ignore[no-any-return]

    def records_struct(self, n: int = 100) -> list[dict[str, Any]]:
        return self._call("records_struct", [n])  # type: ignore[no-any-return]

    def echo_array(self, array: Any) -> Any:
        """W6: ``arr.tobytes()`` plus dtype and shape, each way; the reply rebuilt as an array."""
        import numpy as np

        dtype, shape, data = self._call("echo_array", [array.dtype.str, list(array.shape),
                                                       array.tobytes()])
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    def close(self) -> None:
        self._sock.close()


def start_server(metrics_log: str | None) -> FloorServer:
    return FloorServer()


def connect(port: int) -> FloorClient:
    return FloorClient(port)


# -- streams (S1-S3) ---------------------------------------------------------------------
#
# The same framing, one msgpack frame per item and a zero-length frame at the end of a
# stream. A request is ``[proc, args]``; ``count`` and ``blobs`` answer with their items'
# frames and the end frame; ``upload`` is followed by the chunks' frames and the end frame,
# and answered ``[True, total bytes]``. No credit, no ids, no cancel: one stream at a time
# per connection, and closing a stream before its end closes the connection. The reading
# side reads through a buffered file (``socket.makefile``), not a recv per frame.

_END = _HEADER.pack(0)
_READ_BUFFER = 256 * 1024


def _read_frame(f: Any) -> bytes:
    header = f.read(4)
    if len(header) < 4:
        raise ConnectionError("peer closed")
    (n,) = _HEADER.unpack(header)
    body: bytes = f.read(n)
    if len(body) < n:
        raise ConnectionError("peer closed")
    return body


class FloorStreamServer:
    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        pack, header, sendall = _packb, _HEADER.pack, conn.sendall
        with conn, conn.makefile("rb", buffering=_READ_BUFFER) as f:
            while True:
                try:
                    proc, args = _unpackb(_read_frame(f))
                    if proc == "count":
                        for i in range(args[0]):
                            body = pack(i)
                            sendall(header(len(body)) + body)
                        sendall(_END)
                    elif proc == "blobs":
                        n, size = args
                        body = pack(b"x" * size)
                        frame = header(len(body)) + body
                        for _ in range(n):
                            sendall(frame)
                        sendall(_END)
                    elif proc == "upload":
                        total = 0
                        while body := _read_frame(f):
                            total += len(_unpackb(body))
                        sendall(_framed(pack([True, total])))
                    else:
                        sendall(_framed(pack([False, f"no procedure {proc!r}"])))
                except (ConnectionError, OSError, ValueError):
                    return


def _framed(body: bytes) -> bytes:
    return _HEADER.pack(len(body)) + body


class FloorStreamClient:
    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._file = self._sock.makefile("rb", buffering=_READ_BUFFER)

    def _stream(self, proc: str, args: list[Any]) -> Any:
        self._sock.sendall(_framed(_packb([proc, args])))
        f, unpack = self._file, _unpackb
        try:
            while body := _read_frame(f):
                yield unpack(body)
        except GeneratorExit:  # closed before its end: the connection cannot be reused
            self.close()
            raise

    def count(self, n: int) -> Any:
        return self._stream("count", [n])

    def blobs(self, n: int, size: int) -> Any:
        return self._stream("blobs", [n, size])

    def upload(self, chunks: Any) -> int:
        pack, header, sendall = _packb, _HEADER.pack, self._sock.sendall
        sendall(_framed(pack(["upload", []])))
        for chunk in chunks:
            body = pack(chunk)
            sendall(header(len(body)) + body)
        sendall(_END)
        ok, value = _unpackb(_read_frame(self._file))
        if not ok:
            raise RuntimeError(value)
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def start_stream_server() -> FloorStreamServer:
    return FloorStreamServer()


def connect_streams(port: int) -> FloorStreamClient:
    return FloorStreamClient(port)
