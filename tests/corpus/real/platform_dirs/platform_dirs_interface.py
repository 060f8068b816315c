from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path


class PlatformDirsInterface(ABC):
    """Where an application keeps its files on this platform."""

    def __init__(self, appname: str | None = None, version: str | None = None) -> None:
        self.appname = appname
        self.version = version

    @property
    @abstractmethod
    def user_data_dir(self) -> str:
        """The user's data directory."""

    @property
    @abstractmethod
    def user_cache_dir(self) -> str:
        """The user's cache directory."""

    @property
    def user_data_path(self) -> Path:
        return Path(self.user_data_dir)
