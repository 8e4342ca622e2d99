"""Per-deployment traits: fixed for a deployment's life, drawn from a hash of its id."""

from dataclasses import dataclass

import numpy as np

from ._random import LEVELS, NORMAL, SLOT_BITS, UNIFORM, deployment_key, nibble, slot

# Median figures by model size (NANO, SMALL, LARGE) from the research the product is based on.
P50_MS_BY_SIZE = np.array([50.0, 120.0, 300.0])
VOLUME_BY_SIZE = np.array([40.0, 15.0, 4.0])  # req/s of a median deployment, weekday daily mean

# Latency quantiles of a log-normal with shape s: P95 = P50·e^(1.645 s), P99 = P50·e^(2.326 s).
Z95 = 1.6448536269514722
Z99_MINUS_Z95 = 2.3263478740408408 - Z95

_P50_SPREAD = 0.22  # log-sd of P50 between deployments of one size
_POPULARITY_SPREAD = 0.7  # log-sd of traffic between deployments of one size
# Shape 0.6..0.8 gives P95/P50 of 2.7..3.7 and P99/P95 of 1.5..1.9 with the bonus below.
_TAIL_SHAPE = 0.6 + 0.2 * UNIFORM
_P99_BONUS = 1.0 + 0.1 * UNIFORM  # real tails reach a little further than log-normal ones
_ERROR_RATE = 0.0005 + 0.0025 * UNIFORM  # healthy error fraction, 0.05 % .. 0.3 %
# Chance of an incident per block of ~2 h, 4 % .. 20 %; squared so most deployments are
# steady and a few are flaky. Kept as a threshold for a 12-bit draw.
_INCIDENT_THRESHOLD = np.round(LEVELS * (0.04 + 0.16 * UNIFORM**2)).astype(np.int64)
_PHASE_STEP_MINUTES = 16  # customers' local days shift the daily cycle by up to ±2 h

# Flattened (size, draw) tables: index = size · 4096 + draw.
_P50_TABLE = np.outer(P50_MS_BY_SIZE, np.exp(_P50_SPREAD * NORMAL)).ravel()
_VOLUME_TABLE = np.outer(VOLUME_BY_SIZE, np.exp(_POPULARITY_SPREAD * NORMAL)).ravel()
_P95_RATIO = np.exp(Z95 * _TAIL_SHAPE)
_P99_RATIO = np.exp(Z99_MINUS_Z95 * _TAIL_SHAPE) * _P99_BONUS


@dataclass(frozen=True)
class Profile:
    """Traits of deployments at some positions (parallel 1-D arrays)."""

    key: np.ndarray  # int64 hash of the id: keys the deployment's windowed random streams
    p50_ms: np.ndarray  # typical P50 at average load
    volume: np.ndarray  # typical req/s at full ramp, averaged over a weekday
    p95_ratio: np.ndarray  # P95 / P50 outside incidents
    p99_ratio: np.ndarray  # P99 / P95 outside incidents
    error_rate: np.ndarray  # healthy error fraction
    incident_threshold: np.ndarray  # int64: a 12-bit block draw below it starts an incident
    phase: np.ndarray  # int64 minutes added to the clock for the daily cycle


def profile(ids: np.ndarray, size: np.ndarray) -> Profile:
    """Traits of deployments with these ids and sizes (1-D arrays)."""
    key = deployment_key(ids)
    row = size.astype(np.int64) << SLOT_BITS
    tail = slot(key, 2)
    return Profile(
        key=key,
        p50_ms=_P50_TABLE.take(row + slot(key, 0)),
        volume=_VOLUME_TABLE.take(row + slot(key, 1)),
        p95_ratio=_P95_RATIO.take(tail),
        p99_ratio=_P99_RATIO.take(tail),  # wider tails also reach further
        error_rate=_ERROR_RATE.take(slot(key, 3)),
        incident_threshold=_INCIDENT_THRESHOLD.take(slot(key, 4)),
        phase=nibble(key) * _PHASE_STEP_MINUTES - 8 * _PHASE_STEP_MINUTES,
    )
