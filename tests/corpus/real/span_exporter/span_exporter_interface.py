import abc
import enum
import typing

from span_exporter.trace import ReadableSpan


class SpanExportResult(enum.Enum):
    SUCCESS = 0
    FAILURE = 1


class SpanExporterInterface(abc.ABC):
    """Sends finished spans to a tracing backend."""

    @abc.abstractmethod
    def export(self, spans: typing.Sequence[ReadableSpan]) -> "SpanExportResult":
        """Export a batch of spans."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Shut the exporter down."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
