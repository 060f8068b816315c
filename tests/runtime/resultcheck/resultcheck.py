"""The implementation: returns what its interface declares, unless asked for a fault."""

from typing import Any

from resultcheck.resultcheck_interface import Count, Point, ResultcheckInterface, Row


def _rows(fault: str) -> Any:
    rows = [Row(i, f"row-{i}", [i, i + 1]) for i in range(3)]
    if fault == "field":
        rows[2].name = 7  # type: ignore[assignment]
    elif fault == "element":
        rows[1].tags = [1, "x"]  # type: ignore[list-item]
    return rows


class Resultcheck(ResultcheckInterface):
    def rows(self, fault: str) -> list[Row]:
        return _rows(fault)  # type: ignore[no-any-return]

    async def async_rows(self, fault: str) -> list[Row]:
        return _rows(fault)  # type: ignore[no-any-return]

    def point(self, fault: str) -> Point:
        return Point("1" if fault == "field" else 1, "p")  # type: ignore[arg-type]

    def points(self, fault: str) -> list[Point]:
        points = [Point(i, f"p{i}") for i in range(3)]
        if fault == "field":
            points[1].label = 5  # type: ignore[assignment]
        return points

    def count(self, n: int) -> Count:
        return Count(n)
