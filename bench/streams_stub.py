"""srpc client and server stubs of the stream bench service, written by hand.

UNTIL STUBGEN SUPPORTS STREAMS: ``srpc-stubgen`` refuses ``Iterator`` today,
so this module is what it will generate for
``bench/srpc_service/streambench/streambench_interface.py`` (the same shape
as ``tests/runtime/streams_stubs.py``). Once stubgen can do streams, generate
it in ``bench/gen.py`` like the ``benchsvc`` stubs and delete this file.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable, Iterable
from typing import Any

from bench.gen import SRPC_SERVICE_DIR

if str(SRPC_SERVICE_DIR) not in sys.path:  # the scripts run without the driver's PYTHONPATH
    sys.path.append(str(SRPC_SERVICE_DIR))

from streambench.streambench_interface import StreambenchInterface

from srpc import AsyncClient, Server, ServiceDescriptor, SyncClient
from srpc.client_streams import AsyncResultStream, ResultStream

__all__ = [
    "SERVICE",
    "SrpcStreambenchAsyncClientStub",
    "SrpcStreambenchClientStub",
    "SrpcStreambenchServerStub",
]

SERVICE = ServiceDescriptor(
    name="streambench",
    interface=StreambenchInterface,
    fingerprint="streambench-by-hand",  # both ends use this module: they always agree
    procedures=("count", "blobs", "upload", "forever", "closed_at"),
)


class SrpcStreambenchClientStub(SyncClient):
    _srpc_service = SERVICE

    def count(self, n: int) -> ResultStream[int]:
        return self._srpc_stream("count", (n,), {})  # type: ignore[no-any-return]

    def blobs(self, n: int, size: int) -> ResultStream[bytes]:
        return self._srpc_stream("blobs", (n, size), {})  # type: ignore[no-any-return]

    def upload(self, chunks: Iterable[bytes]) -> int:
        result: int = self._srpc_call("upload", (chunks,), {})
        return result

    def forever(self, tag: str, size: int) -> ResultStream[bytes]:
        return self._srpc_stream("forever", (tag, size), {})  # type: ignore[no-any-return]

    def closed_at(self, tag: str, timeout: float) -> float:
        result: float = self._srpc_call("closed_at", (tag, timeout), {})
        return result


class SrpcStreambenchAsyncClientStub(AsyncClient):
    _srpc_service = SERVICE

    def count(self, n: int) -> AsyncResultStream[int]:
        return self._srpc_stream("count", (n,), {})  # type: ignore[no-any-return]

    def blobs(self, n: int, size: int) -> AsyncResultStream[bytes]:
        return self._srpc_stream("blobs", (n, size), {})  # type: ignore[no-any-return]

    async def upload(self, chunks: Iterable[bytes] | AsyncIterable[bytes]) -> int:
        result: int = await self._srpc_call("upload", (chunks,), {})
        return result

    def forever(self, tag: str, size: int) -> AsyncResultStream[bytes]:
        return self._srpc_stream("forever", (tag, size), {})  # type: ignore[no-any-return]

    async def closed_at(self, tag: str, timeout: float) -> float:
        result: float = await self._srpc_call("closed_at", (tag, timeout), {})
        return result


class SrpcStreambenchServerStub(Server):
    _srpc_service = SERVICE

    def _srpc_default_impl(self) -> Any:
        from streambench.streambench import Streambench

        return Streambench()
