import socket
from abc import ABC, abstractmethod
from typing import List, TypedDict


class ResolveResult(TypedDict):
    hostname: str
    host: str
    port: int
    family: int
    proto: int
    flags: int


class DnsResolverInterface(ABC):
    """Resolves host names to addresses."""

    @abstractmethod
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> List[ResolveResult]:
        """Every address of host."""

    @abstractmethod
    async def close(self) -> None:
        """Release the resolver."""
