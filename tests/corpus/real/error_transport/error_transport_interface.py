from abc import ABC, abstractmethod
from typing import Any, Dict, Optional

from error_transport.envelope import Envelope


class ErrorTransportInterface(ABC):
    """Sends error reports to the server."""

    parsed_dsn: Optional[str] = None

    def __init__(self, options: Optional[Dict[str, Any]] = None) -> None:
        self.options = options

    @abstractmethod
    def capture_envelope(self, envelope: Envelope) -> None:
        """Send an envelope."""

    def flush(self, timeout: float, callback: Optional[Any] = None) -> None:
        return None

    def kill(self) -> None:
        return None
