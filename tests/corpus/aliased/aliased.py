from aliased.aliased_interface import AliasedInterface


class Aliased(AliasedInterface):
    def twice(self, n: int) -> int:
        return 2 * n
