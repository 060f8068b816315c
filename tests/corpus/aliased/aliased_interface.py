"""abc imported under an alias."""

import abc as a


class AliasedInterface(a.ABC):
    @a.abstractmethod
    def twice(self, n: int) -> int: ...

    def helper(self) -> int:
        """Not abstract: stubgen warns and leaves it out."""
        return 1
