from basic.basic_interface import BasicInterface


class Basic(BasicInterface):
    def echo(self, text: str) -> str:
        return text

    def add(self, a: int, b: float) -> float:
        return a + b

    def flip(self, flag: bool) -> bool:
        return not flag

    def blob(self, data: bytes, extra: bytearray) -> bytes:
        return data + bytes(extra)

    def ping(self) -> None:
        return None
