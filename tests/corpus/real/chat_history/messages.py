from dataclasses import dataclass, field
from typing import Any


@dataclass
class BaseMessage:
    content: str
    type: str
    additional_kwargs: dict[str, Any] = field(default_factory=dict)
