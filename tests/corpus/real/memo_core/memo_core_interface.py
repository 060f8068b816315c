import abc
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional, Tuple


@dataclass
class CacheEntry:
    value: Any
    time: datetime
    stale: bool
    _processing: bool
    _condition: Optional[threading.Condition] = None
    _completed: bool = False


class MemoCoreInterface(metaclass=abc.ABCMeta):
    """The storage core of a memoizing decorator."""

    @abc.abstractmethod
    def get_entry_by_key(self, key: str) -> Tuple[str, Optional[CacheEntry]]:
        """The entry of key, if any."""

    @abc.abstractmethod
    def set_entry(self, key: str, func_res: Any) -> bool:
        """Store a result."""

    @abc.abstractmethod
    def mark_entry_being_calculated(self, key: str) -> None:
        pass

    @abc.abstractmethod
    def mark_entry_not_calculated(self, key: str) -> None:
        pass

    @abc.abstractmethod
    def wait_on_entry_calc(self, key: str) -> Any:
        pass

    @abc.abstractmethod
    def clear_cache(self) -> None:
        pass

    @abc.abstractmethod
    def delete_stale_entries(self, stale_after: timedelta) -> None:
        pass
