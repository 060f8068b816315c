"""The contestants: each module serves the bench service and connects a client to it.

A contestant module provides

- ``start_server(metrics_log: str | None) -> RunningServer``: serve on
  127.0.0.1 on a free port, in the background of the calling process;
- ``connect(port: int) -> SyncOps`` (or ``async connect_async(port) -> AsyncOps``
  for an asyncio client): a connected client with ``add``, ``echo``,
  ``records`` and ``close``; and ``records_struct`` if the contestant is
  listed with ``struct_records=True`` (W4s);
- for the stream workloads S1-S3 (listed with ``streams=True``),
  ``start_stream_server()`` and ``connect_streams(port)`` (or
  ``connect_streams_async``), see :mod:`bench.streams`.

Add a contestant by writing such a module and listing it in ``CONTESTANTS``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CONTESTANTS", "Contestant", "RunningServer"]


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported (a dotted name whose parent is missing cannot)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class RunningServer(Protocol):
    port: int

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Contestant:
    name: str
    module: str  # the module with start_server / connect
    requires: tuple[str, ...]  # importable modules it needs (missing -> skipped with a note)
    description: str
    is_async: bool = False  # the client is ``connect_async`` and runs in an event loop
    uvloop: bool = False  # ... and that loop is uvloop's (asyncio's own otherwise)
    needs: str | None = None  # generated code it needs: "srpc" or "grpc"
    # It serves records_struct (W4s): the rows as msgspec.Struct (the floor: the same dicts).
    struct_records: bool = False
    # It serves echo_array (W6): a NumPy array each way (the floor: dtype, shape, raw bytes).
    arrays: bool = False
    # It serves the stream workloads S1-S3 (``start_stream_server``, ``connect_streams``);
    # otherwise ``no_streams`` says why not.
    streams: bool = False
    no_streams: str = "it has no streams in this bench"

    def missing(self) -> list[str]:
        """The required modules that are not installed."""
        return [m for m in self.requires if not _importable(m)]

    def cannot_run(self, workload: str) -> str | None:
        """Why this contestant sits ``workload`` out, or None if it runs it."""
        if workload == "W4s" and not self.struct_records:
            return "W4s needs records as msgspec.Struct, which its wire format does not carry"
        if workload == "W6" and not self.arrays:
            return "W6 needs NumPy arrays, which its wire format does not carry in this bench"
        if workload.startswith("S") and not self.streams:
            return self.no_streams
        return None


CONTESTANTS: dict[str, Contestant] = {
    c.name: c
    for c in (
        Contestant(
            "srpc",
            "bench.contestants.srpc_bench",
            ("srpc", "msgspec"),
            "srpc, generated stubs, sync client",
            needs="srpc",
            struct_records=True,
            arrays=True,
            streams=True,
        ),
        Contestant(
            "srpc-threads",
            "bench.contestants.srpc_threads_bench",
            ("srpc", "msgspec"),
            "srpc, sync client; server runs every procedure on worker threads (no @srpc.inline)",
            needs="srpc",
            struct_records=True,
            arrays=True,
            no_streams="its stream service would be srpc's (stream generators always run on "
            "worker threads)",
        ),
        Contestant(
            "srpc-async",
            "bench.contestants.srpc_bench",
            ("srpc", "msgspec"),
            "srpc, generated stubs, asyncio client",
            is_async=True,
            needs="srpc",
            struct_records=True,
            arrays=True,
            streams=True,
        ),
        Contestant(
            "srpc-uvloop",
            "bench.contestants.srpc_bench",
            ("srpc", "msgspec", "uvloop"),
            "srpc, generated stubs, asyncio client on a uvloop event loop",
            is_async=True,
            uvloop=True,
            needs="srpc",
            struct_records=True,
            arrays=True,
            streams=True,
        ),
        Contestant(
            "floor",
            "bench.contestants.floor",
            (),
            "blocking socket, 4-byte length prefix, msgpack, thread per connection",
            struct_records=True,
            arrays=True,
            streams=True,
        ),
        Contestant(
            "grpc",
            "bench.contestants.grpc_bench",
            ("grpc", "grpc_tools", "google.protobuf"),
            "grpcio, sync unary, stubs from grpc_tools.protoc at bench time",
            needs="grpc",
            streams=True,
        ),
        Contestant(
            "pyro5",
            "bench.contestants.pyro5_bench",
            ("Pyro5", "msgpack"),
            "Pyro5, msgpack serializer, thread pool server",
            no_streams="not measured: Pyro5 streams a generator's items one round trip each",
        ),
        Contestant(
            "rpyc",
            "bench.contestants.rpyc_bench",
            ("rpyc",),
            "RPyC, ThreadedServer, brine (tuples by value)",
            no_streams="not measured: RPyC has no streams (a remote iterator is a round trip "
            "per item)",
        ),
    )
}
