"""The NATS bench service (N1-N3): a tiny call and a CPU-bound one that says who served it."""

from abc import ABC, abstractmethod


class NatsbenchInterface(ABC):
    """What the NATS workloads call."""

    @abstractmethod
    def add(self, a: int, b: int) -> int:
        """Return a + b (N1)."""

    @abstractmethod
    def work(self, rounds: int) -> int:
        """Spin ``rounds`` rounds of pure-Python work (the driver calibrates about 2 ms) on a
        worker thread; return the serving process's pid (N3)."""

    @abstractmethod
    def spin(self, rounds: int) -> int:
        """The same work on the instance's event loop (N2)."""
