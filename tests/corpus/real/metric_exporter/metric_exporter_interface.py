from abc import ABC, abstractmethod
from enum import Enum
from typing import Any

from .point import MetricsData


class MetricExportResult(Enum):
    SUCCESS = 0
    FAILURE = 1


class MetricExporterInterface(ABC):
    """Pushes collected metrics to a backend."""

    @abstractmethod
    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Export a batch of metrics."""

    @abstractmethod
    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        pass

    @abstractmethod
    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass
