import typing as t

from typing_alias.typing_alias_interface import TypingAliasInterface, Vector


class TypingAlias(TypingAliasInterface):
    def norm(self, v: Vector) -> float:
        return float(sum(x * x for x in v) ** 0.5)

    def first(self, values: t.Sequence[int], default: t.Optional[int] = None) -> t.Optional[int]:
        return values[0] if values else default

    def tags(self) -> t.Dict[str, t.Any]:
        return {}
