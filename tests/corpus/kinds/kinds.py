from kinds.kinds_interface import KindsInterface


class Kinds(KindsInterface):
    def everything(
        self, a: int, b: int = 2, /, c: int = 3, *args: int, d: int, e: int = 5, **kwargs: int
    ) -> list[int]:
        return [a, b, c, *args, d, e, *kwargs.values()]

    def positional_only(self, x: str, y: str = "y", /) -> str:
        return x + y

    def star_only(self, *values: float) -> float:
        return sum(values)

    def kwargs_only(self, **options: str) -> dict[str, str]:
        return dict(options)

    def mixed(self, head: int, *rest: str, flag: bool = False) -> tuple[int, tuple[str, ...], bool]:
        return head, rest, flag

    def self_positional_only(self, /, *, key: str) -> str:
        return key
