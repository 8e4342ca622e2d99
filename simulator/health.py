"""Health of a deployment from its recent windows: calm rules, relative to what it usually does.

Each rule gives a level per window (0 fine, 1 warning, 2 critical):
- P50 latency above 2.5× (warning) or 5× (critical) the deployment's usual P50;
- P95 latency above 3× or 6× its usual P95 (both only with at least 20 requests,
  since percentiles of fewer are mostly noise);
- error rate from 1 % with at least 5 errors, or from 5 % with at least 10 errors;
- traffic below half of its trailing-hour mean, when that mean is at least 0.5 req/s.
A rule holds a level when at least 3 of the last 5 windows reach it (the level the
median window reaches): a deployment turns yellow after 3 bad minutes and green
again after 3 good ones, so one noisy minute changes nothing. The worst rule wins;
not serving in the current window is NO_TRAFFIC.
"""

from dataclasses import dataclass

import numpy as np

from domain import HEALTH_LEVELS
from domain import Health as Level

from .fleet import Fleet, share_of
from .gather import gatherer
from .metrics import Metrics, compute_metrics
from .traffic import RAMP_WINDOWS, load_factor, ramp

# Integer codes: each level's index in domain.Health.
HEALTHY, WARNING, CRITICAL, NO_TRAFFIC = map(
    HEALTH_LEVELS.index, (Level.HEALTHY, Level.WARNING, Level.CRITICAL, Level.NO_TRAFFIC)
)
P50_RULE, P95_RULE, ERROR_RULE, TRAFFIC_RULE = 0, 1, 2, 3
RULES = 4

P50_FACTORS = (2.5, 5.0)  # × the usual P50: warning above, critical above
P95_FACTORS = (3.0, 6.0)  # × the usual P95
MIN_LATENCY_REQUESTS = 20
ERROR_PERCENTS = (1.0, 5.0)  # warning from, critical from
MIN_ERRORS = (5, 10)
VOLUME_DROP_SHARE = 0.5  # of the trailing-hour mean
MIN_TRAILING_VOLUME = 0.5  # req/s: below it a quiet minute is chance, not a drop
HEALTH_WINDOWS, HEALTH_QUORUM = 5, 3
TRAILING_WINDOWS = 60
_HALF = TRAILING_WINDOWS // 2


def trailing_mean_volume(fleet: Fleet, index: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean req/s each deployment normally gets over the hour before its window.

    The noise-free, incident-free expectation (the model's popularity, weekly cycle and
    ramp-up, times the version's share of the model's traffic in the window),
    sampled at the midpoints of the hour's two halves (the cycle is smooth): cheap, and
    a traffic drop then stays flagged for as long as it lasts instead of dragging its
    own baseline down. Windows before activation count as 0 req/s.
    """
    index_b, window_b = np.broadcast_arrays(
        np.asarray(index, dtype=np.int64), np.asarray(window, dtype=np.int64)
    )
    position, win = index_b.ravel(), window_b.ravel()
    t = fleet.traits
    gather = gatherer(position)
    week_start = gather(t.week_start)
    age = win - gather(fleet.model_act_window)
    total = np.zeros(position.size, dtype=np.float32)
    for back in (_HALF + _HALF // 2, _HALF // 2):
        load = load_factor(week_start, win - back)
        young = np.flatnonzero(age - back < RAMP_WINDOWS)
        load[young] *= ramp(age[young] - back)
        total += load
    total *= gather(t.volume)
    total *= 0.5
    # Of the model's traffic, the version's share now: a deliberate split is not a drop.
    share = share_of(fleet, position, win, gather)
    if share is not None:
        total *= share
    return total.reshape(index_b.shape)


def window_levels(
    fleet: Fleet, index: np.ndarray, m: Metrics, trailing: np.ndarray | None = None
) -> np.ndarray:
    """Each rule's level in each pair's own window: int8 of shape (RULES, *m.window.shape).

    `trailing` may hold the pairs' trailing-hour means, already computed.
    """
    t = fleet.traits
    index = np.broadcast_to(np.asarray(index, dtype=np.int64), m.window.shape)
    if trailing is None:
        trailing = trailing_mean_volume(fleet, index, m.window)
    # The usual figures per pair: a view when the pairs are the fleet in order (float64, so
    # that the division below needs no cast of mixed types).
    gather = gatherer(index.ravel()) if index.ndim == 1 else (lambda values: values.take(index))
    enough = m.request_count >= MIN_LATENCY_REQUESTS
    levels = np.zeros((RULES, *m.window.shape), dtype=np.int8)
    for rule, figure, usual, factors in (
        (P50_RULE, m.p50, t.usual_p50, P50_FACTORS),
        (P95_RULE, m.p95, t.usual_p95, P95_FACTORS),
    ):
        ratio = figure / gather(usual).astype(np.float64)
        levels[rule] = enough & (ratio > factors[0])
        levels[rule] += enough & (ratio > factors[1])
    rate = m.error_rate
    for level, (percent, errors) in enumerate(zip(ERROR_PERCENTS, MIN_ERRORS, strict=True), start=1):
        levels[ERROR_RULE] = np.where(
            (rate >= percent) & (m.error_count >= errors), level, levels[ERROR_RULE]
        )
    drop = (m.request_volume < VOLUME_DROP_SHARE * trailing) & (trailing >= MIN_TRAILING_VOLUME)
    levels[TRAFFIC_RULE] = drop & m.serving
    return levels


@dataclass(frozen=True)
class Health:
    """Health per deployment at one window, with what its reasons need."""

    code: np.ndarray  # int8 HEALTHY, WARNING, CRITICAL or NO_TRAFFIC
    levels: np.ndarray  # int8 (RULES, n): the level each rule holds
    hits: np.ndarray  # int8 (RULES, n): windows of the run at or above that level
    trailing: np.ndarray  # float32 trailing-hour mean req/s


def persistent(run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From raw levels of the last HEALTH_WINDOWS windows (axis 0, oldest first): held levels and hits."""
    # The level reached in at least HEALTH_QUORUM windows, by counting (a sort along the
    # short axis costs twenty times as much).
    warning = (run >= 1).sum(axis=0, dtype=np.int8)
    critical = (run >= 2).sum(axis=0, dtype=np.int8)
    held = (warning >= HEALTH_QUORUM).astype(np.int8)
    held += critical >= HEALTH_QUORUM
    hits = np.where(held == 2, critical, warning)
    return held, hits


def combine(run: np.ndarray, serving: np.ndarray, trailing: np.ndarray) -> Health:
    """Health from the run of raw levels (HEALTH_WINDOWS, RULES, n) and the current window's serving."""
    held, hits = persistent(run)
    worst = held.max(axis=0)
    code = np.where(serving, worst, np.int8(NO_TRAFFIC)).astype(np.int8)
    return Health(code=code, levels=held, hits=hits, trailing=trailing)


def assess_health(fleet: Fleet, index: np.ndarray, window: int, current: Metrics | None = None) -> Health:
    """Health of the deployments at these fleet positions (1-D) at one window.

    `current` may hold their metrics for that window, already computed; the earlier
    windows of the run are computed here in one pass.
    """
    index = np.asarray(index, dtype=np.int64)
    earlier = window - np.arange(HEALTH_WINDOWS - 1, 0, -1)
    before = compute_metrics(fleet, index[None, :], earlier[:, None])
    if current is None:
        current = compute_metrics(fleet, index, np.int64(window))
    trailing = trailing_mean_volume(fleet, index, np.int64(window))
    run = np.concatenate(
        (
            window_levels(fleet, index[None, :], before).swapaxes(0, 1),
            window_levels(fleet, index, current, trailing)[None],
        )
    )
    return combine(run, current.serving, trailing)
