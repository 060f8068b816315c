import abc
from typing import Optional


class KeyringBackendMeta(abc.ABCMeta):
    """Keeps a registry of every concrete backend class."""

    def __init__(cls, name, bases, dict):  # type: ignore[no-untyped-def]
        super().__init__(name, bases, dict)
        if not hasattr(cls, "_classes"):
            cls._classes = set()
        if not cls.__abstractmethods__:
            cls._classes.add(cls)


class KeyringBackendInterface(metaclass=KeyringBackendMeta):
    """A place to keep passwords."""

    def __str__(self) -> str:
        return type(self).__name__

    @abc.abstractmethod
    def get_password(self, service: str, username: str) -> Optional[str]:
        """The password for the username of the service."""
        return None

    @abc.abstractmethod
    def set_password(self, service: str, username: str, password: str) -> None:
        """Set the password for the username of the service."""

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError
