"""Signatures too long for one line, a parameter named result, many procedures."""

from abc import ABC, abstractmethod


class LongsigInterface(ABC):
    @abstractmethod
    def configure_the_extremely_long_named_procedure(
        self,
        first_parameter_with_long_name: dict[str, list[tuple[int, int]]],
        second_parameter_with_long_name: dict[str, list[tuple[int, int]]] | None = None,
        *,
        keyword_only_parameter_with_a_long_name: str = "a default value that is long",
    ) -> dict[str, list[tuple[int, int]]]: ...

    @abstractmethod
    def result(self, result: int) -> int: ...

    @abstractmethod
    async def async_also_with_an_extremely_long_name_to_wrap(
        self, argument_number_one: int, argument_number_two: int
    ) -> None: ...

    @abstractmethod
    def procedure_number_four(self) -> None: ...

    @abstractmethod
    def procedure_number_five(self) -> None: ...
