from __future__ import annotations

import abc
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence


class ReadableFileStore(abc.ABC):
    @abc.abstractmethod
    async def read_path(self, path: str) -> bytes:
        """The bytes at path."""


class WritableFileStore(ReadableFileStore):
    @abc.abstractmethod
    async def write_path(self, path: str, content: bytes) -> str:
        """Write content at path; returns where."""


class FileStoreInterface(WritableFileStore):
    """A file system that can also copy whole directories."""

    @abc.abstractmethod
    async def get_directory(self, from_path: Optional[str] = None, local_path: Optional[Path] = None) -> None:
        """Copy a directory to the local file system."""

    @abc.abstractmethod
    async def put_directory(
        self, local_path: Optional[Path] = None, to_path: Optional[PurePosixPath] = None, ignore_file: Optional[str] = None
    ) -> int:
        """Copy a local directory; returns the number of files."""

    @abc.abstractmethod
    async def list_paths(self, prefix: str, exclude: Sequence[str] = ()) -> list[str]:
        """The paths under prefix."""
