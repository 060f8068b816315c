from typing import Any, Dict, List, Optional


class Item:
    def __init__(self, payload: bytes, type: Optional[str] = None) -> None:
        self.payload = payload
        self.type = type


class Envelope:
    """Headers and items; built by the SDK, not a data type."""

    def __init__(self, headers: Optional[Dict[str, Any]] = None, items: Optional[List[Item]] = None) -> None:
        self.headers = headers or {}
        self.items = items or []
