"""Client and server stubs of the stream test service, written as stubgen will write them."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from streamsvc.streamsvc_interface import StreamsvcInterface

from srpc import AsyncClient, Server, ServiceDescriptor, SyncClient
from srpc.client_streams import AsyncResultStream, ResultStream

SERVICE = ServiceDescriptor(
    name="streamsvc",
    interface=StreamsvcInterface,
    fingerprint="streams-by-hand",
    procedures=(
        "count", "tail", "total", "atotal", "echo", "fail_after", "wrong_item", "forever",
        "aforever", "deadline", "wait_cancelled", "await_cancelled", "events",
    ),
)  # fmt: skip


class SrpcStreamsvcClientStub(SyncClient):
    _srpc_service = SERVICE

    def count(self, n: int, delay: float = 0.0) -> ResultStream[int]:
        return self._srpc_stream("count", (n, delay), {})

    def tail(self, n: int) -> ResultStream[int]:
        return self._srpc_stream("tail", (n,), {})

    def total(self, values: Iterable[int]) -> int:
        result: int = self._srpc_call("total", (values,), {})
        return result

    def atotal(self, values: Iterable[int]) -> int:
        result: int = self._srpc_call("atotal", (values,), {})
        return result

    def echo(self, values: Iterable[str]) -> ResultStream[str]:
        return self._srpc_stream("echo", (values,), {})

    def fail_after(self, n: int) -> ResultStream[int]:
        return self._srpc_stream("fail_after", (n,), {})

    def wrong_item(self) -> ResultStream[int]:
        return self._srpc_stream("wrong_item", (), {})

    def forever(self, tag: str) -> ResultStream[int]:
        return self._srpc_stream("forever", (tag,), {})

    def aforever(self, tag: str) -> ResultStream[int]:
        return self._srpc_stream("aforever", (tag,), {})

    def deadline(self) -> float:
        result: float = self._srpc_call("deadline", (), {})
        return result

    def wait_cancelled(self, tag: str, seconds: float) -> bool:
        result: bool = self._srpc_call("wait_cancelled", (tag, seconds), {})
        return result

    def await_cancelled(self, tag: str, seconds: float) -> bool:
        result: bool = self._srpc_call("await_cancelled", (tag, seconds), {})
        return result

    def events(self) -> list[str]:
        result: list[str] = self._srpc_call("events", (), {})
        return result


class SrpcStreamsvcAsyncClientStub(AsyncClient):
    _srpc_service = SERVICE

    def count(self, n: int, delay: float = 0.0) -> AsyncResultStream[int]:
        return self._srpc_stream("count", (n, delay), {})

    def tail(self, n: int) -> AsyncResultStream[int]:
        return self._srpc_stream("tail", (n,), {})

    async def total(self, values: Iterable[int] | AsyncIterable[int]) -> int:
        result: int = await self._srpc_call("total", (values,), {})
        return result

    async def atotal(self, values: Iterable[int] | AsyncIterable[int]) -> int:
        result: int = await self._srpc_call("atotal", (values,), {})
        return result

    def echo(self, values: Iterable[str] | AsyncIterable[str]) -> AsyncResultStream[str]:
        return self._srpc_stream("echo", (values,), {})

    def fail_after(self, n: int) -> AsyncResultStream[int]:
        return self._srpc_stream("fail_after", (n,), {})

    def forever(self, tag: str) -> AsyncResultStream[int]:
        return self._srpc_stream("forever", (tag,), {})

    def aforever(self, tag: str) -> AsyncResultStream[int]:
        return self._srpc_stream("aforever", (tag,), {})

    async def await_cancelled(self, tag: str, seconds: float) -> bool:
        result: bool = await self._srpc_call("await_cancelled", (tag, seconds), {})
        return result

    async def deadline(self) -> float:
        result: float = await self._srpc_call("deadline", (), {})
        return result


class SrpcStreamsvcServerStub(Server):
    _srpc_service = SERVICE

    def _srpc_default_impl(self) -> Any:
        from streamsvc.streamsvc import Streamsvc

        return Streamsvc()
