from typing import Any, Literal, Optional, Union

from optionals.optionals_interface import OptionalsInterface


class Optionals(OptionalsInterface):
    def maybe(self, value: Optional[int] = None) -> Optional[str]:  # noqa: UP045
        return None if value is None else str(value)

    def either(self, value: Union[int, str]) -> Union[int, str, None]:  # noqa: UP007
        return value

    def pipe(self, value: int | str | None) -> float | None:
        return None if value is None else float(value)

    def mode(self, mode: Literal["r", "w"] = "r") -> Literal[0, 1]:
        return 0 if mode == "r" else 1

    def anything(self, value: Any) -> Any:
        return value
