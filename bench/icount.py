"""Instructions per call of each side's Python path, counted by valgrind: ``bench.icount``.

Timing a 15 us call on a shared 2-core VM cannot resolve a change of a few
hundred nanoseconds; counting instructions can (callgrind counts the same
total for the same code and inputs, whatever else the machine does). Each
*side* here is one end of a W1 call, ``add(1, 2)``, driven in-process over a
real ``socketpair`` whose other end the harness plays: it writes the
peer's message before the call and drains what the side sent after it.
Both srpc and the floor run this way, so the harness's own share is about
the same for both and the difference is each side's own work. Kernel work
(the system calls themselves) is not counted: that is user-space
instructions of the Python process only.

    python -m bench.icount                 # all four sides
    python -m bench.icount --sides srpc-client,floor-client

Needs ``valgrind`` (Debian: ``apt install valgrind``). Each side is run
twice, with ``--calls`` and with ``2 x --calls`` calls after the same
warm-up; the difference divided by ``--calls`` is its cost per call
(start-up and warm-up cancel out).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.gen import REPO_ROOT, SRPC_SERVICE_DIR, generate_srpc

SIDES = ("srpc-client", "srpc-server", "floor-client", "floor-server")
WARMUP = 300


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    for s in (a, b):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return a, b


def make_side(side: str) -> Callable[[], Any]:
    """One W1 call of ``side``, its peer played over a socketpair; returns ``add``'s result."""
    from bench.contestants import floor

    mine, peer = _pair()
    drain = bytearray(1 << 16)
    if side == "floor-client":
        client = floor.FloorClient.__new__(floor.FloorClient)
        client._sock = mine
        body = floor._packb([True, 3])
        reply = floor._HEADER.pack(len(body)) + body

        def floor_client() -> Any:
            peer.send(reply)
            result = client.add(1, 2)
            peer.recv_into(drain)
            return result

        return floor_client
    if side == "floor-server":
        procs = {"add": floor._Impl().add}
        body = floor._packb(["add", [1, 2]])
        request = floor._HEADER.pack(len(body)) + body

        def floor_server() -> Any:  # the body of FloorServer._serve's loop
            peer.send(request)
            proc, args = floor._unpackb(floor._recv_frame(mine))
            reply = [True, procs[proc](*args)]
            floor._send_frame(mine, floor._packb(reply))
            peer.recv_into(drain)
            return reply[1]

        return floor_server

    import itertools

    import msgspec
    from srpc_benchsvc_client_stub import (  # type: ignore[import-not-found, unused-ignore]
        SERVICE,
        SrpcBenchsvcClientStub,
    )
    from srpc_benchsvc_server_stub import (  # type: ignore[import-not-found, unused-ignore]
        SrpcBenchsvcServerStub,
    )

    from srpc import client as srpc_client
    from srpc import server as srpc_server
    from srpc.codec import encoder
    from srpc.protocol import Reply, Welcome, encode_message, encode_request
    from srpc.transport import SocketStream

    if side == "srpc-client":
        # Under valgrind a call takes ~50x longer, so the 1 ms of quiet after which a real
        # client polls for an idle close would pass between calls; at the benchmark's rate
        # it never does.
        srpc_client._QUIET = float("inf")
        stub = SrpcBenchsvcClientStub("127.0.0.1", 1)
        welcome = Welcome(1, SERVICE.name, SERVICE.fingerprint, 1 << 26, 128)
        session = stub._srpc_settings.session()
        session.handshake(welcome)
        connection = srpc_client._SyncConnection(SocketStream(mine), session)
        stub._srpc_shared.connection = connection
        # Every request gets id 1 (ids never overlap here), so one answer serves every call.
        stub._srpc_settings.ids = itertools.repeat(1)
        reply = bytes(encode_message(Reply(1, msgspec.Raw(encoder.encode(3)))))
        add = stub.add

        def srpc_client_call() -> Any:
            peer.send(reply)
            result = add(1, 2)
            peer.recv_into(drain)
            return result

        return srpc_client_call
    if side == "srpc-server":
        server = SrpcBenchsvcServerStub(port=0, metrics_log=None, sync_mode="inline")
        core = srpc_server._Core(server, srpc_server._new_event_loop())
        protocol = srpc_server._Connection(core)

        class Transport:  # the calls srpc's protocol makes on its transport in this path
            write = mine.send

        protocol.transport = Transport()  # type: ignore[assignment]
        protocol.session.welcomed = True
        protocol.session.reader.max_frame = server.max_frame
        request = bytes(encode_request(encoder, 1, "add", (1, 2), {}))
        size = len(request)

        def srpc_server_call() -> Any:  # what the event loop does with one read
            protocol.get_buffer(-1)[:size] = request  # the loop's recv_into
            protocol.buffer_updated(size)
            peer.recv_into(drain)
            return drain[7]  # the fixint in [5, id, 3]

        return srpc_server_call
    raise ValueError(f"unknown side {side!r}; choose from {', '.join(SIDES)}")


def _child(side: str, calls: int) -> None:
    call = make_side(side)
    for _ in range(WARMUP):
        assert call() == 3, f"{side}: add(1, 2) did not answer 3"
    for _ in range(calls):
        call()


def _instructions(side: str, calls: int, env: dict[str, str]) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "bench.icount", "--child", side, str(calls)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    match = re.search(r"refs:\s+([\d,]+)", out)
    if match is None:
        raise RuntimeError(f"no instruction count from valgrind for {side}: {out[-500:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.icount",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("bench.icount needs valgrind (apt install valgrind)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="srpc-icount-") as tmp:
        generate_srpc(Path(tmp))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), tmp, str(SRPC_SERVICE_DIR)])
        for side in args.sides.split(","):
            one = _instructions(side, args.calls, env)
            two = _instructions(side, 2 * args.calls, env)
            print(f"{side:<13} {(two - one) / args.calls:>9,.0f} instructions per call", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
