from longsig.longsig_interface import LongsigInterface


class Longsig(LongsigInterface):
    def configure_the_extremely_long_named_procedure(
        self,
        first_parameter_with_long_name: dict[str, list[tuple[int, int]]],
        second_parameter_with_long_name: dict[str, list[tuple[int, int]]] | None = None,
        *,
        keyword_only_parameter_with_a_long_name: str = "a default value that is long",
    ) -> dict[str, list[tuple[int, int]]]:
        return first_parameter_with_long_name

    def result(self, result: int) -> int:
        return result

    async def async_also_with_an_extremely_long_name_to_wrap(
        self, argument_number_one: int, argument_number_two: int
    ) -> None:
        return None

    def procedure_number_four(self) -> None:
        return None

    def procedure_number_five(self) -> None:
        return None
