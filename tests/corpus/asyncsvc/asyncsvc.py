import asyncio

from asyncsvc.asyncsvc_interface import AsyncsvcInterface


class Asyncsvc(AsyncsvcInterface):
    def __init__(self) -> None:
        self.data: dict[str, int] = {}

    async def fetch(self, key: str) -> int:
        await asyncio.sleep(0)
        return self.data.get(key, 0)

    async def store(self, key: str, value: int) -> None:
        await asyncio.sleep(0)
        self.data[key] = value

    def size(self) -> int:
        return len(self.data)
