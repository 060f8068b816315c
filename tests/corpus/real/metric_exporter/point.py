from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Union


@dataclass(frozen=True)
class NumberDataPoint:
    attributes: Dict[str, str]
    start_time_unix_nano: int
    time_unix_nano: int
    value: Union[int, float]


@dataclass(frozen=True)
class Metric:
    name: str
    description: Optional[str]
    unit: Optional[str]
    data_points: Sequence[NumberDataPoint]


@dataclass(frozen=True)
class ScopeMetrics:
    scope_name: str
    metrics: Sequence[Metric]
    schema_url: str


@dataclass(frozen=True)
class ResourceMetrics:
    resource_attributes: Dict[str, str]
    scope_metrics: Sequence[ScopeMetrics]
    schema_url: str


@dataclass(frozen=True)
class MetricsData:
    resource_metrics: Sequence[ResourceMetrics]
