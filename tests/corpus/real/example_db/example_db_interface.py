import abc
from collections.abc import Iterable


class _EDMeta(abc.ABCMeta):
    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().__call__(*args, **kwargs)


class ExampleDbInterface(metaclass=_EDMeta):
    """A key to many values store, for failing examples."""

    @abc.abstractmethod
    def save(self, key: bytes, value: bytes) -> None:
        """Save value under key."""
        raise NotImplementedError(f"{type(self).__name__}.save")

    @abc.abstractmethod
    def fetch(self, key: bytes) -> Iterable[bytes]:
        """Every value saved under key."""
        raise NotImplementedError(f"{type(self).__name__}.fetch")

    @abc.abstractmethod
    def delete(self, key: bytes, value: bytes) -> None:
        """Remove value from key."""
        raise NotImplementedError(f"{type(self).__name__}.delete")

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        if src == dest:
            self.save(src, value)
            return
        self.delete(src, value)
        self.save(dest, value)
