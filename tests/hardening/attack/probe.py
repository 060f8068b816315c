"""The health probe, in its own process: a fresh connection, a Hello and one call every 0.25 s.

    python -m tests.hardening.attack.probe --port N [--token T] [--ca CA.crt]

Each probe connects from 127.0.0.1, shakes hands, calls ``probe`` (a sync
procedure that stays on the worker threads) and must have its reply within
``DEADLINE`` seconds of starting. One JSON line per probe on stdout:
``{"t": start, "ok": ..., "latency": ..., "error": ...}`` (``t`` in seconds
of ``time.monotonic()``). Stops when stdin closes, or after ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl as _ssl
import sys
import threading
import time

from srpc.codec import encoder
from srpc.protocol import (
    PROTOCOL_VERSION,
    Hello,
    MessageReader,
    Reply,
    Welcome,
    encode_message,
    encode_request,
)

from .stubs import SERVICE

DEADLINE = 1.0
INTERVAL = 0.25


def probe_once(port: int, token: str | None, context: _ssl.SSLContext | None, n: int) -> None:
    """One probe; raises on any failure (the caller times it)."""
    end = time.monotonic() + DEADLINE
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(DEADLINE)
        sock.connect(("127.0.0.1", port))
        conn: socket.socket = sock
        if context is not None:
            conn = context.wrap_socket(sock, server_hostname="localhost")
        conn.sendall(encode_message(Hello(PROTOCOL_VERSION, SERVICE.name, SERVICE.fingerprint,
                                          token)))
        reader = MessageReader()
        welcome = _next(conn, reader, end)
        if not isinstance(welcome, Welcome):
            raise ConnectionError(f"handshake answered with {type(welcome).__name__}: "
                                  f"{getattr(welcome, 'message', '')[:80]}")
        value = f"probe-{n}"
        conn.sendall(encode_request(encoder, 1, "probe", (value,), {}))
        reply = _next(conn, reader, end)
        if not isinstance(reply, Reply):
            raise ConnectionError(f"call answered with {type(reply).__name__}")
        conn.close()
    finally:
        sock.close()


def _next(conn: socket.socket, reader: MessageReader, end: float) -> object:
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer within the deadline")
        conn.settimeout(left)
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        messages = reader.feed(data)
        if messages:
            return messages[0][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--ca", default=None)
    parser.add_argument("--seconds", type=float, default=600.0)
    options = parser.parse_args(argv)
    context = None
    if options.ca:
        from srpc.security import client_ssl_context

        context = client_ssl_context(options.ca)
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    finish = time.monotonic() + options.seconds
    n = 0
    next_start = time.monotonic()
    while not stop.is_set() and time.monotonic() < finish:
        started = time.monotonic()
        error = ""
        try:
            probe_once(options.port, options.token, context, n)
        except Exception as exc:  # every failure is a data point, never a crash
            error = f"{type(exc).__name__}: {exc}"[:200]
        latency = time.monotonic() - started
        ok = not error and latency <= DEADLINE
        if not error and not ok:
            error = f"late: {latency:.3f} s"
        print(json.dumps({"t": started, "ok": ok, "latency": latency, "error": error}),
              flush=True)
        n += 1
        next_start += INTERVAL
        stop.wait(max(0.0, next_start - time.monotonic()))
        next_start = max(next_start, time.monotonic() - INTERVAL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
