from kwonly.kwonly_interface import DEFAULT_LIMIT, SEPARATORS, KwonlyInterface


class Kwonly(KwonlyInterface):
    def search(
        self,
        query: str,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        separators: tuple[str, ...] = SEPARATORS,
        scale: float = 1e3,
    ) -> list[str]:
        return [query] * min(limit, 3)

    def label(self, *, name: str, upper: bool = False) -> str:
        return name.upper() if upper else name
