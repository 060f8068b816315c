from abc import ABC, abstractmethod
from http import HTTPStatus
from typing import Mapping, Optional


class HttpStatusProbeInterface(ABC):
    """Checks the health of HTTP endpoints."""

    @abstractmethod
    def probe(self, url: str, headers: Optional[Mapping[str, str]] = None, timeout: float = 5.0) -> HTTPStatus:
        """The status url answers with."""

    @abstractmethod
    def expected(self, url: str) -> set[HTTPStatus]:
        """The statuses that count as healthy for url."""
