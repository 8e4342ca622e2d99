"""Inference figures as records for the schema: one window's, a chart's, the fleet's summary; and
the instant a request's figures are for (`asOf`) and its window."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np

from domain import HEALTH_LEVELS, Code
from resolvers.arguments import utc
from resolvers.errors import ApiError
from simulator import WINDOW_SECONDS, Metrics

HEALTH_NAMES = HEALTH_LEVELS
MAX_HISTORY_AGE = timedelta(days=366)  # how far back asOf may reach


# The window records are not frozen: a frozen dataclass sets each field through object.__setattr__
# (4.3 µs for MetricsRecord's 16 against 0.4), and a table's sparklines build thousands a request.
@dataclass(slots=True)
class WindowRecord:
    """Figures of one window: when it starts, how long it is, and when the next one starts."""

    as_of: datetime  # start of the window
    window_seconds: int
    next_update_at: datetime


@dataclass(slots=True)
class MetricsRecord(WindowRecord):
    request_volume: float
    request_count: int
    error_count: int
    p50: float | None
    p95: float | None
    p99: float | None
    error_rate: float | None
    success_rate: float | None
    ttft_p50: float | None
    ttft_p95: float | None
    tokens_per_second: float
    replicas: float  # whole for one window, a mean for a longer step
    utilization: float | None


@dataclass(frozen=True)
class HealthRecord:
    health: str
    reasons: list[str]


@dataclass(frozen=True)
class SeriesRecord:
    range: str
    step_seconds: int
    points: list[MetricsRecord]


@dataclass(slots=True)
class StatsRecord(WindowRecord):
    total: int
    by_status: list[tuple[str, int]]
    by_health: list[tuple[str, int]]
    total_request_volume: float
    p95: float | None
    error_rate: float | None


def resolve_as_of(now: datetime, as_of: datetime | None) -> datetime:
    """The instant figures are for: `as_of` if given (never in the future), else the request's clock."""
    if as_of is None:
        return now
    as_of = utc(as_of)
    assert as_of is not None
    if as_of > now:
        raise ApiError(
            f"`asOf` {as_of.isoformat()} is in the future (server time {now.isoformat()})", Code.FUTURE_AS_OF
        )
    if now - as_of > MAX_HISTORY_AGE:
        raise ApiError("`asOf` may reach back at most 366 days", Code.AS_OF_OUT_OF_RANGE)
    return as_of


def window_of(t: datetime) -> int:
    return math.floor(t.timestamp() / WINDOW_SECONDS)


@lru_cache(maxsize=4096)  # a pure function; a chart's points ask for ~100 at a time, again and again
def window_start(window: int) -> datetime:
    return datetime.fromtimestamp(window * WINDOW_SECONDS, UTC)


def number(value: float) -> float | None:
    """NaN and infinity never reach a response: they mean "no figure"."""
    return float(value) if math.isfinite(value) else None


def record(m: Metrics, k: int, step_windows: int = 1) -> MetricsRecord:
    rate = number(m.error_rate[k])
    start = int(m.window[k])
    return MetricsRecord(
        as_of=window_start(start),
        window_seconds=WINDOW_SECONDS * step_windows,
        next_update_at=window_start(start + step_windows),
        request_volume=float(m.request_volume[k]),
        request_count=int(m.request_count[k]),
        error_count=int(m.error_count[k]),
        p50=number(m.p50[k]),
        p95=number(m.p95[k]),
        p99=number(m.p99[k]),
        error_rate=rate,
        success_rate=None if rate is None else 100.0 - rate,
        ttft_p50=number(m.ttft_p50[k]),
        ttft_p95=number(m.ttft_p95[k]),
        tokens_per_second=float(m.tokens_per_second[k]),
        replicas=float(m.replicas[k]),
        utilization=number(m.utilization[k]),
    )


def silent(window: int) -> MetricsRecord:
    """Figures of a deployment that is not in the fleet (e.g. deleted meanwhile): no traffic."""
    return MetricsRecord(
        window_start(window),
        WINDOW_SECONDS,
        window_start(window + 1),
        0.0,
        0,
        0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        0.0,
        0.0,
        None,
    )


def records_of(m: Metrics, step_windows: int = 1) -> list[MetricsRecord]:
    """record() of every row of a 1-D Metrics (the same values), column by column: a page's rows
    at one window, or a chart's points (steps of `step_windows` windows)."""

    def nums(values: np.ndarray) -> list[float | None]:
        return [v if math.isfinite(v) else None for v in values.tolist()]

    starts = m.window.tolist()
    rates = nums(m.error_rate)
    columns = (
        [window_start(w) for w in starts],
        [WINDOW_SECONDS * step_windows] * len(starts),
        [window_start(w + step_windows) for w in starts],
        m.request_volume.tolist(),
        m.request_count.tolist(),
        m.error_count.tolist(),
        nums(m.p50),
        nums(m.p95),
        nums(m.p99),
        rates,
        [None if rate is None else 100.0 - rate for rate in rates],
        nums(m.ttft_p50),
        nums(m.ttft_p95),
        m.tokens_per_second.tolist(),
        m.replicas.tolist(),
        nums(m.utilization),
    )
    return [MetricsRecord(*values) for values in zip(*columns, strict=True)]
