from abc import ABC, abstractmethod


class TrioClockInterface(ABC):
    """The interface for custom run loop clocks."""

    __slots__ = ()

    @abstractmethod
    def start_clock(self) -> None:
        """Do any setup this clock might need."""

    @abstractmethod
    def current_time(self) -> float:
        """Return the current time, according to this clock."""

    @abstractmethod
    def deadline_to_sleep_time(self, deadline: float) -> float:
        """How long to sleep for, at most, to reach deadline."""
