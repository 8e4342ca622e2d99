"""Inference metrics, history series, health and fleet stats."""

from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Annotated, cast

import strawberry

from resolvers.metric_records import MetricsRecord, SeriesRecord, StatsRecord
from schema.common import copied
from schema.vocabulary import DeploymentHealth, DeploymentStatus, described_enum


@described_enum("Time span of a metrics history.")
class MetricsRange(Enum):
    LAST_HOUR = "60 points, one per minute."
    LAST_24_HOURS = "96 points, one per 15 minutes."
    LAST_7_DAYS = "168 points, one per hour."
    LAST_30_DAYS = "120 points, one per 6 hours."


# The arguments of the figures' fields (metrics, metricsHistory, health) on a deployment and a model.
AsOf = Annotated[
    datetime | None,
    strawberry.argument(description="Instant the figures are for (default: the request's clock)."),
]
Range = Annotated[
    MetricsRange | None, strawberry.argument(name="range", description="Span and resolution of the series.")
]
DEFAULT_RANGE = MetricsRange.LAST_24_HOURS


def span_of(range_: MetricsRange | None) -> str:
    """The span a `range` argument asks for (its name; the default when null)."""
    return (range_ or DEFAULT_RANGE).value


@strawberry.type
class Window:
    """The fields every window's figures start with (a WindowRecord's); not published on its own."""

    as_of: datetime = strawberry.field(description="Start of the window these figures describe.")
    window_seconds: int = strawberry.field(description="Length of the window in seconds.")
    next_update_at: datetime = strawberry.field(
        description="When the next window's figures become available; a hint for polling clients."
    )


@strawberry.type(description="Inference statistics of one deployment over one aggregation window.")
class InferenceMetrics(Window):
    # Attributes are named as MetricsRecord's, which of() copies; `name` publishes the others' names.
    request_volume: float = strawberry.field(description="Requests per second, 0 when not serving.")
    request_count: int = strawberry.field(description="Requests in the window.")
    error_count: int = strawberry.field(description="Failed requests in the window.")
    p50: float | None = strawberry.field(
        name="p50Latency", description="Milliseconds; null when there was no traffic."
    )
    p95: float | None = strawberry.field(
        name="p95Latency", description="Milliseconds; null when there was no traffic."
    )
    p99: float | None = strawberry.field(
        name="p99Latency", description="Milliseconds; null when there was no traffic."
    )
    error_rate: float | None = strawberry.field(
        description="Percent of requests that failed, 0-100; null when there was no traffic."
    )
    success_rate: float | None = strawberry.field(
        description="100 - errorRate; null when there was no traffic."
    )
    ttft_p50: float | None = strawberry.field(
        name="timeToFirstTokenP50",
        description="Median milliseconds from request to first output token; null when there was no traffic.",
    )
    ttft_p95: float | None = strawberry.field(
        name="timeToFirstTokenP95",
        description="95th percentile of time to first token, milliseconds; null when there was no traffic.",
    )
    tokens_per_second: float = strawberry.field(
        name="outputTokensPerSecond",
        description="Output tokens generated per second, all replicas together; 0 when not serving.",
    )
    replicas: int = strawberry.field(description="Replicas serving in this window; 0 when not serving.")
    utilization: float | None = strawberry.field(
        description="Busy share of the replicas' capacity, percent 0-100; null when not serving."
    )

    @classmethod
    def of(cls, r: MetricsRecord) -> "InferenceMetrics":
        return copied(cls, r, replicas=round(r.replicas))


@strawberry.type(description="One point of a metrics chart: the figures of one step.")
class MetricsPoint:
    # Attributes are named as a chart step's record (a MetricsRecord), which MetricsSeries.of serves.
    as_of: datetime = strawberry.field(name="timestamp", description="Start of the step.")
    request_volume: float = strawberry.field(description="Mean requests per second over the step.")
    p50: float | None = strawberry.field(
        name="p50Latency",
        description="Milliseconds: the median of the step's requests; null when there was no traffic.",
    )
    p95: float | None = strawberry.field(
        name="p95Latency",
        description="Milliseconds: the 95th percentile of the step's requests; null when it had no traffic.",
    )
    p99: float | None = strawberry.field(
        name="p99Latency",
        description="Milliseconds: the 99th percentile of the step's requests; null when it had no traffic.",
    )
    error_rate: float | None = strawberry.field(description="Percent; null when there was no traffic.")
    ttft_p50: float | None = strawberry.field(
        name="timeToFirstTokenP50",
        description="Median milliseconds to the first output token over the step; null without traffic.",
    )
    tokens_per_second: float = strawberry.field(
        name="outputTokensPerSecond", description="Mean output tokens per second over the step."
    )
    replicas: float = strawberry.field(description="Mean replicas serving over the step.")
    utilization: float | None = strawberry.field(
        description="Mean busy share of capacity over the step's serving minutes, percent; null if none."
    )


# MetricsSeries serves records as points: each field must be a record attribute (checked at import).
assert {f.python_name for f in MetricsPoint.__strawberry_definition__.fields} <= {  # type: ignore[attr-defined]
    f.name for f in fields(MetricsRecord)
}


@strawberry.type(description="A chart-ready metrics history.")
class MetricsSeries:
    range: MetricsRange = strawberry.field(description="The span covered.")
    step_seconds: int = strawberry.field(description="Seconds between points.")
    points: list[MetricsPoint] = strawberry.field(
        description="Oldest first; the last point is the window that holds asOf."
    )

    @classmethod
    def of(cls, r: SeriesRecord) -> "MetricsSeries":
        # The step records are served as they are: MetricsPoint's fields are named as their attributes
        # and strawberry reads a plain field by attribute. (Copying each into a MetricsPoint was a
        # fifth of a 50-row table's request with a 24-hour sparkline per row: 4,800 objects.)
        points = cast(list[MetricsPoint], r.points)
        return cls(range=MetricsRange(r.range), step_seconds=r.step_seconds, points=points)


@strawberry.type(description="Deployments in one status.")
class StatusCount:
    status: DeploymentStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Deployments in it.")


@strawberry.type(description="Deployments in one health state.")
class HealthCount:
    health: DeploymentHealth = strawberry.field(description="The health state.")
    count: int = strawberry.field(description="Deployments in it.")


@strawberry.type(description="Fleet-wide figures for the dashboard's summary cards.")
class DeploymentStats(Window):
    total: int = strawberry.field(
        description="Live deployments (at asOf: those created by then and not deleted since)."
    )
    by_status: list[StatusCount] = strawberry.field(
        description="Counts by status (at asOf: each one's statusAt), every status listed."
    )
    by_health: list[HealthCount] = strawberry.field(
        description="Counts by health over the deployments in total, every state listed."
    )
    total_request_volume: float = strawberry.field(description="Sum over deployments, requests/second.")
    p95: float | None = strawberry.field(
        name="p95Latency",
        description="Request-weighted mean P95 over serving deployments; null when none serve.",
    )
    error_rate: float | None = strawberry.field(
        description="Failed requests over all requests, percent; null when none serve."
    )

    @classmethod
    def of(cls, r: StatsRecord) -> "DeploymentStats":
        return copied(
            cls,
            r,
            by_status=[StatusCount(status=DeploymentStatus(s), count=n) for s, n in r.by_status],
            by_health=[HealthCount(health=DeploymentHealth(h), count=n) for h, n in r.by_health],
        )
