"""The attacks of issue 11's table, each bounded in count and time and stopping by itself.

Every attack is ``def attack(target: Target) -> list[str]``: it runs against
the server process ``target`` describes, from 127.0.0.2 and up (never
127.0.0.1, the probe's address), and returns the problems it saw itself
(calls never answered, a log flood...) beyond what the runner measures.
``target.full`` selects the sizes of the issue's table; the quick form is
smaller and shorter but still breaks today's server where the full one does.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl as _ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from srpc.codec import encoder
from srpc.framing import FrameDecoder
from srpc.protocol import (
    PROTOCOL_VERSION,
    ErrorReply,
    Hello,
    Message,
    MessageReader,
    Request,
    Welcome,
    encode_message,
    encode_request,
)

from .stubs import SERVICE

MiB = 1024 * 1024


@dataclass
class Target:
    """The server under attack, as the attacks see it."""

    port: int
    full: bool
    token: str | None = None
    tls: _ssl.SSLContext | None = None  # a client context trusting the server's CA
    metrics_log: str | None = None
    stderr_log: str | None = None


def source_address(n: int) -> str:
    """Attacker ``n``'s own loopback address: 127.0.0.2, 127.0.0.3, ... (never 127.0.0.1)."""
    return f"127.0.{n // 250}.{2 + n % 250}"


def connect(target: Target, n: int = 0, *, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to the server from ``source_address(n)``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((source_address(n), 0))
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", target.port))
    except BaseException:
        sock.close()
        raise
    return sock


def hello(token: str | None) -> bytes:
    return bytes(encode_message(Hello(PROTOCOL_VERSION, SERVICE.name, SERVICE.fingerprint,
                                      token)))


def handshake(target: Target, n: int = 0, *, timeout: float = 10.0) -> socket.socket:
    """A connection from ``source_address(n)`` that has been welcomed."""
    sock = connect(target, n, timeout=timeout)
    try:
        if target.tls is not None:
            sock = target.tls.wrap_socket(sock, server_hostname="localhost")
        sock.sendall(hello(target.token))
        answer = read_messages(sock, 1, time.monotonic() + timeout)
        if not answer or not isinstance(answer[0], Welcome):
            raise ConnectionError(f"handshake refused: {answer!r:.200}")
    except BaseException:
        sock.close()
        raise
    return sock


def read_messages(sock: socket.socket, count: int, deadline: float,
                  reader: MessageReader | None = None) -> list[Message]:
    """Up to ``count`` messages, or fewer if the deadline passes or the peer closes."""
    reader = reader or MessageReader()
    got: list[Message] = []
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(min(left, 1.0))
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            continue
        except OSError:
            break
        if not data:
            break
        got += [m for m, _ in reader.feed(data)]
    return got


def request(id: int, proc: str, args: bytes, kwargs: bytes = b"\x80") -> bytes:
    """A Request frame whose argument array and keyword map are raw MessagePack."""
    return bytes(encode_message(Request(id, proc, msgspec.Raw(args), msgspec.Raw(kwargs))))


def send_until(sock: socket.socket, data: bytes | memoryview, deadline: float) -> int:
    """Send what the server accepts before ``deadline``; return how many bytes went."""
    view = memoryview(data)
    sent = 0
    while sent < len(view) and time.monotonic() < deadline:
        sock.settimeout(max(0.01, min(0.5, deadline - time.monotonic())))
        try:
            sent += sock.send(view[sent : sent + (4 * MiB)])
        except TimeoutError:
            continue
        except OSError:
            break
    return sent


def in_threads(count: int, work: Callable[[int], list[str]]) -> list[str]:
    """Run ``work(i)`` for ``i`` in ``range(count)`` at once; all their problems."""
    problems: list[list[str]] = [[] for _ in range(count)]

    def run(i: int) -> None:
        try:
            problems[i] = work(i)
        except Exception as exc:
            problems[i] = [f"attacker {i}: {type(exc).__name__}: {exc}"[:200]]

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [p for ps in problems for p in ps]


@contextlib.contextmanager
def closing_all(socks: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield socks
    finally:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.close()


def _answered_in_time(sock: socket.socket, count: int, seconds: float) -> list[str]:
    answers = read_messages(sock, count, time.monotonic() + seconds)
    if len(answers) < count:
        return [f"{count - len(answers)} of {count} calls not answered within {seconds:.0f} s"]
    return []


# -- decoding ------------------------------------------------------------------


def colliding_tuple_keys(bits: int) -> bytes:
    """A map of ``2**bits`` distinct tuple keys of -1 and -2: they all hash alike."""
    count = 1 << bits
    head = bytes([0x90 | bits]) if bits < 16 else b"\xdc" + bits.to_bytes(2, "big")
    parts = [b"\xdf" + count.to_bytes(4, "big")]
    for i in range(count):
        parts.append(head + bytes(0xFF if i >> j & 1 else 0xFE for j in range(bits)) + b"\xc0")
    return b"".join(parts)


def hash_flood(target: Target) -> list[str]:
    """An ``Any`` map of hash-colliding tuple keys (the issue: 60k keys, 905 KiB, 96 s frozen)."""
    bits = 15 if target.full else 14  # 32,768 keys (10 s frozen today) / 16,384 (~2 s)
    frame = request(1, "describe", b"\x91" + colliding_tuple_keys(bits))
    with closing_all([handshake(target)]) as (sock,):
        sock.sendall(frame)
        return _answered_in_time(sock, 1, 60 if target.full else 15)


def empty_arrays(target: Target) -> list[str]:
    """MiBs of empty arrays in an ``Any`` argument (the issue: 60 MiB, RSS 8.8 GiB)."""
    size = (60 if target.full else 12) * MiB
    args = b"\x91\xdd" + size.to_bytes(4, "big") + b"\x90" * size
    with closing_all([handshake(target)]) as (sock,):
        sent = send_until(sock, request(1, "describe", args), time.monotonic() + 30)
        del args
        if sent == 0:
            return ["the frame could not be sent"]
        return _answered_in_time(sock, 1, 30)


def distinct_names(count: int) -> bytes:
    """A keyword map of ``count`` distinct 4-character names, each to nil (6 bytes an entry)."""
    numbers = struct.pack(f">{count}I", *range(count))
    three = bytearray(3 * count)
    three[0::3], three[1::3], three[2::3] = numbers[1::4], numbers[2::4], numbers[3::4]
    names = base64.b64encode(bytes(three))  # 4 ASCII characters per 3 bytes: distinct names
    out = bytearray(6 * count)
    out[0::6] = b"\xa4" * count
    for k in range(4):
        out[1 + k :: 6] = names[k::4]
    out[5::6] = b"\xc0" * count
    return b"\xdf" + count.to_bytes(4, "big") + bytes(out)


def kwargs_names(target: Target) -> list[str]:
    """``add`` (int-only) with a kwargs map of millions of distinct names, on several connections.

    The issue: 10M names (57 MiB) cost RSS 1.4 GiB and a 7-11 s outage; 4 connections, 30 s.
    """
    count, connections = (10_000_000, 4) if target.full else (3_000_000, 2)
    frame = request(1, "add", b"\x92\x01\x02", distinct_names(count))

    def one(i: int) -> list[str]:
        with closing_all([handshake(target, i)]) as (sock,):
            send_until(sock, frame, time.monotonic() + 30)
            return _answered_in_time(sock, 1, 40)

    return in_threads(connections, one)


def huge_name(target: Target) -> list[str]:
    """An unknown procedure name of many MiB (the issue: 60 MiB -> a 120 MiB ErrorReply)."""
    size = (60 if target.full else 8) * MiB
    before = _size(target.metrics_log)
    frame = request(1, "n" * size, b"\x90")
    problems: list[str] = []
    with closing_all([handshake(target)]) as (sock,):
        send_until(sock, frame, time.monotonic() + 30)
        del frame
        length = _first_frame_length(sock, time.monotonic() + 30)
        if length is None:
            problems.append("no answer")
        elif length > 64 * 1024:
            problems.append(f"an ErrorReply of {length / MiB:.0f} MiB")
    end = time.monotonic() + 3.0  # the metrics writer flushes about once a second
    while _size(target.metrics_log) - before <= 64 * 1024 and time.monotonic() < end:
        time.sleep(0.1)
    grown = _size(target.metrics_log) - before
    if grown > 64 * 1024:
        problems.append(f"the metrics log grew by {grown / MiB:.0f} MiB")
    return problems


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0


def _first_frame_length(sock: socket.socket, deadline: float) -> int | None:
    head = b""
    while len(head) < 4 and time.monotonic() < deadline:
        sock.settimeout(1.0)
        try:
            data = sock.recv(4 - len(head))
        except TimeoutError:
            continue
        if not data:
            return None
        head += data
    return int.from_bytes(head, "big") if len(head) == 4 else None


# -- backpressure --------------------------------------------------------------


def unread_replies(target: Target) -> list[str]:
    """Pipelined ``big_reply`` calls whose replies are never read.

    The issue: 5,000 x 256 KiB all ran (``max_in_flight`` is 128), RSS 660 MB;
    8 connections x 1 MiB replies: 3.8 GiB.
    """
    connections, calls, size, hold = (8, 1000, MiB, 8.0) if target.full else (4, 400, MiB, 3.0)
    frames = b"".join(bytes(encode_request(encoder, i, "big_reply", (size,), {}))
                      for i in range(calls))
    socks = [handshake(target, i) for i in range(connections)]
    with closing_all(socks):
        for sock in socks:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)

        def one(i: int) -> list[str]:
            send_until(socks[i], frames, time.monotonic() + hold)
            return []

        in_threads(connections, one)
        time.sleep(hold)  # the replies stay unread
    return []


def blocked_pool_then_echoes(target: Target) -> list[str]:
    """The pool's threads blocked, then large echoes queued behind them on one connection.

    The issue: 6 blocked threads, then 128 x 32 MiB echoes: RSS 4.2 GiB.
    """
    calls = 128 if target.full else 36
    hold_for = 40.0 if target.full else 20.0  # longer than the attack: still blocked at SIGTERM
    payload = b"e" * (32 * MiB)
    echo = bytes(encode_request(encoder, 0, "echo_bytes", (payload,), {}))
    del payload
    with closing_all([handshake(target, 0), handshake(target, 1)]) as (holder, sender):
        holder.sendall(b"".join(bytes(encode_request(encoder, i, "hold", (hold_for,), {}))
                                for i in range(_pool_size())))
        time.sleep(0.3)
        deadline = time.monotonic() + (30 if target.full else 10)
        for _ in range(calls):
            if send_until(sender, echo, deadline) < len(echo):
                break
        time.sleep(1.0)
    return []


def _pool_size() -> int:
    """The server's default worker count (``ThreadPoolExecutor``'s: min(32, CPUs + 4))."""
    return min(32, (os.cpu_count() or 1) + 4)


# -- fairness ------------------------------------------------------------------


def pool_blocked(target: Target) -> list[str]:
    """As many blocked sync calls as the pool has threads (the issue: every sync call stalls)."""
    attack_for = 10.0 if target.full else 3.0
    frames = b"".join(bytes(encode_request(encoder, i, "hold", (attack_for + 30,), {}))
                      for i in range(_pool_size()))
    with closing_all([handshake(target)]) as (sock,):
        sock.sendall(frames)
        time.sleep(attack_for)
    return []


def callback_hoarder(target: Target) -> list[str]:
    """Calls that pass a callback, pipelined on one connection, whose callback requests are
    read and never answered: every call's worker thread waits for the caller."""
    calls = 256 if target.full else 64
    attack_for = 10.0 if target.full else 4.0
    problems: list[str] = []
    with closing_all([handshake(target)]) as (sock,):
        sock.sendall(b"".join(bytes(encode_request(encoder, i + 1, "notify", (100, 0), {}))
                              for i in range(calls)))
        got = read_messages(sock, calls, time.monotonic() + attack_for)  # read, never answered
        asked = sum(1 for m in got if type(m).__name__ == "ServerRequest")
        if not asked:
            problems.append(f"no callback request came ({[type(m).__name__ for m in got[:3]]})")
    return problems


def pipelined_adds(target: Target) -> list[str]:
    """One client pipelining 200k ``add`` calls (the issue: the others wait 1-3 s).

    The full form is the table's: 200k calls on one connection. Its outcome
    depends on the machine's load (the worst probe took 0.64 s in one run and
    over 1 s in the next), so the quick form pipelines 100k calls on each of
    six connections of the same client: several reads' worth of dispatch
    before the probe's turn, which failed today in every run.
    """
    connections, calls = (1, 200_000) if target.full else (6, 100_000)
    # Distinct ids, as a pipelining client sends them (an id may not be reused while its
    # call is in flight: the server would close the connection as a protocol error).
    frames = b"".join(bytes(encode_request(encoder, i, "add", (1, 2), {}))
                      for i in range(calls))

    def one(i: int) -> list[str]:
        with closing_all([handshake(target, i)]) as (sock,):
            done: list[int] = [0]

            def drain() -> None:
                reader = FrameDecoder()
                deadline = time.monotonic() + 60
                while done[0] < calls and time.monotonic() < deadline:
                    sock.settimeout(1.0)
                    try:
                        data = sock.recv(1 << 20)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not data:
                        return
                    done[0] += len(reader.feed(data))

            reader_thread = threading.Thread(target=drain, daemon=True)
            reader_thread.start()
            sock.sendall(frames)
            reader_thread.join(70)
            if done[0] < calls:
                return [f"{calls - done[0]} of {calls} adds not answered"]
        return []

    return in_threads(connections, one)


def unprintable_exceptions(target: Target) -> list[str]:
    """Calls whose exception's ``__str__`` raises ``KeyboardInterrupt`` (the issue: no reply)."""
    calls = 1000 if target.full else 200
    problems: list[str] = []
    with closing_all([handshake(target)]) as (sock,):
        reader = MessageReader()
        answered = 0
        for start in range(0, calls, 64):
            batch = min(64, calls - start)
            with contextlib.suppress(OSError):
                sock.sendall(b"".join(bytes(encode_request(encoder, start + i, "unprintable",
                                                           (), {})) for i in range(batch)))
            got = read_messages(sock, batch, time.monotonic() + 3, reader)
            answered += sum(isinstance(m, ErrorReply) for m in got)
            if len(got) < batch:
                break
        if answered < calls:
            problems.append(f"{calls - answered} of {calls} calls never answered")
    return problems


# -- connection slots ----------------------------------------------------------


def trickle(target: Target) -> list[str]:
    """1,024 handshaken connections, each trickling one byte of a begun frame.

    The issue: every legit probe refused for the whole 40 s (one byte every 5 s).
    """
    connections = 1024
    attack_for, every = (20.0, 5.0) if target.full else (2.0, 1.0)
    socks: list[socket.socket] = []
    with closing_all(socks):
        deadline = time.monotonic() + 20
        for i in range(connections):
            if time.monotonic() > deadline:
                break
            try:
                sock = handshake(target, i, timeout=2)
            except (OSError, ConnectionError):
                break  # refused: the server's limit is reached
            sock.sendall(b"\x00\x00\x10\x00")  # a frame of 4 KiB begins...
            socks.append(sock)
        end = time.monotonic() + attack_for
        while time.monotonic() < end:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.send(b"\x95")  # ...and grows by one byte at a time
            time.sleep(min(every, max(0.0, end - time.monotonic())))
    return []


def pre_handshake_slots(target: Target) -> list[str]:
    """A reconnecting attacker holding more than 1,024 pre-handshake slots (the issue: 117/121)."""
    slots = 1100
    attack_for = 15.0 if target.full else 2.0
    return _hold_slots(target, slots, attack_for, b"")


def tls_stalled(target: Target) -> list[str]:
    """Stalled 5-byte TLS ClientHello headers (the issue: 97 of 101 probes refused for 25 s)."""
    slots = 1100
    attack_for = 15.0 if target.full else 2.0
    return _hold_slots(target, slots, attack_for, b"\x16\x03\x01\x02\x00")


def _hold_slots(target: Target, slots: int, attack_for: float, first: bytes) -> list[str]:
    socks: dict[int, socket.socket] = {}
    try:
        end = time.monotonic() + attack_for
        while time.monotonic() < end:
            for i in range(slots):
                if i in socks or time.monotonic() > end:
                    continue
                try:
                    sock = connect(target, i, timeout=1)
                    if first:
                        sock.sendall(first)
                except OSError:
                    continue
                sock.setblocking(False)
                socks[i] = sock
            for i, sock in list(socks.items()):  # reconnect the slots the server closed
                try:
                    if sock.recv(4096) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                sock.close()
                del socks[i]
            time.sleep(0.1)
    finally:
        for sock in socks.values():
            sock.close()
    return []


def wrong_tokens(target: Target) -> list[str]:
    """Wrong-token Hellos from 8 threads (the issue: 13k/s, 6.3 MB of stderr in 10 s)."""
    attack_for = 10.0 if target.full else 2.0
    before = _size(target.stderr_log)
    bad = hello("not-the-token")
    attempts = [0] * 8

    def one(i: int) -> list[str]:
        end = time.monotonic() + attack_for
        while time.monotonic() < end:
            try:
                with connect(target, i, timeout=2) as sock:
                    sock.sendall(bad)
                    read_messages(sock, 1, time.monotonic() + 2)
            except OSError:
                pass
            attempts[i] += 1
        return []

    in_threads(8, one)
    grown = _size(target.stderr_log) - before
    if grown > 64 * 1024:
        return [f"{sum(attempts)} attempts wrote {grown / 1e6:.1f} MB to stderr"]
    return []

