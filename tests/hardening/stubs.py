"""Stubs for :mod:`service`, written by hand in the exact shape srpc-stubgen generates.

(See docs/ARCHITECTURE.md, "The contract between generated stubs and the runtime".)
"""

from __future__ import annotations

from srpc import AsyncClient, Server, ServiceDescriptor, SyncClient

from .service import Hardening, HardeningInterface

__all__ = ["SERVICE", "SrpcHardeningAsyncClientStub", "SrpcHardeningClientStub",
           "SrpcHardeningServerStub"]

SERVICE = ServiceDescriptor(
    name="hardening",
    interface=HardeningInterface,
    fingerprint="hand-written-hardening-v1",
    procedures=("echo", "slow", "fail"),
)


class SrpcHardeningClientStub(SyncClient, HardeningInterface):
    """Echo, slow and failing procedures for fault and load tests."""

    _srpc_service = SERVICE

    def echo(self, value: str) -> str:
        result: str = self._srpc_call("echo", (value,), {})
        return result

    # An ``async def`` procedure: the sync stub returns its value like any other call.
    def slow(self, seconds: float, value: str) -> str:  # type: ignore[override]
        result: str = self._srpc_call("slow", (seconds, value), {})
        return result

    def fail(self, value: str) -> None:
        self._srpc_call("fail", (value,), {})


class SrpcHardeningAsyncClientStub(AsyncClient):
    _srpc_service = SERVICE

    async def echo(self, value: str) -> str:
        result: str = await self._srpc_call("echo", (value,), {})
        return result

    async def slow(self, seconds: float, value: str) -> str:
        result: str = await self._srpc_call("slow", (seconds, value), {})
        return result

    async def fail(self, value: str) -> None:
        await self._srpc_call("fail", (value,), {})


class SrpcHardeningServerStub(Server):
    _srpc_service = SERVICE

    def _srpc_default_impl(self) -> HardeningInterface:
        return Hardening()
