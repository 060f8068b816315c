from collections.abc import Mapping, Sequence
from typing import Dict, FrozenSet, List, Set, Tuple

from generics.generics_interface import GenericsInterface


class Generics(GenericsInterface):
    def nested(self, table: dict[str, list[float]]) -> dict[str, float]:
        return {k: sum(v) for k, v in table.items()}

    def variadic(self, values: tuple[int, ...], pair: tuple[str, int]) -> set[int]:
        return {*values, pair[1]}

    def frozen(self, items: frozenset[str]) -> list[str]:
        return sorted(items)

    def legacy(
        self, a: List[int], b: Dict[str, int], c: Tuple[int, str], d: Set[int], e: FrozenSet[int]
    ) -> List[Tuple[str, int]]:
        return sorted(b.items())

    def abstract(self, seq: Sequence[int], mapping: Mapping[str, int]) -> int:
        return sum(seq) + sum(mapping.values())
