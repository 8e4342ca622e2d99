"""Health of a deployment from its metrics, by the thresholds of DESIGN.md.

Each rule gives a level (0 fine, 1 warning, 2 critical); the worst level wins.
`health_codes` and `health_reasons` share the rules, so a code other than
HEALTHY always comes with at least one reason and HEALTHY with none.
"""

import math

import numpy as np

from .fleet import Fleet
from .metrics import Metrics
from .profile import profile
from .traffic import expected_volume

HEALTHY, WARNING, CRITICAL, NO_TRAFFIC = 0, 1, 2, 3

P50_WARNING_MS, P50_CRITICAL_MS = 200.0, 500.0
TAIL_WARNING_RATIO, TAIL_CRITICAL_RATIO = 5.0, 10.0  # P95 / P50
ERROR_WARNING_PERCENT, ERROR_CRITICAL_PERCENT = 0.5, 2.0  # warning from 0.5 %, critical above 2 %
VOLUME_DROP_SHARE = 0.5  # of the trailing-hour mean
TRAILING_WINDOWS = 60
_TRAILING_SAMPLES = 4  # the midpoints of the hour's four quarters

_LEVEL_WORDS = ("", "warning", "critical")
_TIMES = "\u00d7"  # the multiplication sign; escaped, as ruff flags the literal as ambiguous


def trailing_mean_volume(fleet: Fleet, index: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean req/s each deployment normally gets over the hour before its window.

    The noise-free, incident-free expectation (popularity, daily and weekly
    cycle, ramp-up), averaged over four sample windows: cheap, and a traffic
    drop then stays flagged for as long as it lasts instead of dragging its own
    baseline down. Windows before activation count as 0 req/s.
    """
    index_b, window_b = np.broadcast_arrays(
        np.asarray(index, dtype=np.int64), np.asarray(window, dtype=np.int64)
    )
    position, win = index_b.ravel(), window_b.ravel()
    prof = profile(fleet.ids[position], fleet.size[position])
    activated = fleet.act_window[position]
    quarter = TRAILING_WINDOWS // _TRAILING_SAMPLES
    total = np.zeros(position.size)
    for k in range(_TRAILING_SAMPLES):
        total += expected_volume(prof, win - TRAILING_WINDOWS + quarter * k + quarter // 2, activated)
    return (total / _TRAILING_SAMPLES).reshape(index_b.shape)


def _rule_levels(
    p50: np.ndarray, p95: np.ndarray, error_rate: np.ndarray, volume: np.ndarray, trailing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Levels of the latency, tail, error and traffic rules; NaN (no traffic) passes a rule."""
    latency = (p50 > P50_WARNING_MS).astype(np.int8) + (p50 > P50_CRITICAL_MS)
    tail = (p95 > TAIL_WARNING_RATIO * p50).astype(np.int8) + (p95 > TAIL_CRITICAL_RATIO * p50)
    errors = (error_rate >= ERROR_WARNING_PERCENT).astype(np.int8) + (error_rate > ERROR_CRITICAL_PERCENT)
    traffic = (volume < VOLUME_DROP_SHARE * trailing).astype(np.int8)
    return latency, tail, errors, traffic


def health_codes(metrics: Metrics, trailing_mean: np.ndarray) -> np.ndarray:
    """HEALTHY, WARNING, CRITICAL or NO_TRAFFIC per pair (int8)."""
    levels = _rule_levels(metrics.p50, metrics.p95, metrics.error_rate, metrics.request_volume, trailing_mean)
    worst = np.maximum(np.maximum(levels[0], levels[1]), np.maximum(levels[2], levels[3]))
    return np.where(metrics.serving, worst, np.int8(NO_TRAFFIC)).astype(np.int8)


def health_reasons(
    p50: float | None,
    p95: float | None,
    error_rate: float | None,
    volume: float,
    trailing_mean: float,
    serving: bool,
) -> list[str]:
    """Sentences explaining a deployment's health, worst first; empty when HEALTHY."""
    if not serving:
        return ["Not serving traffic"]
    figures = [math.nan if v is None else float(v) for v in (p50, p95, error_rate, volume, trailing_mean)]
    p50_ms, p95_ms, rate, req_s, mean_req_s = figures
    levels = _rule_levels(*(np.array([figure]) for figure in figures))
    latency, tail, errors, traffic = (int(level[0]) for level in levels)
    found: list[tuple[int, str]] = []
    if latency:
        limit = (P50_WARNING_MS, P50_CRITICAL_MS)[latency - 1]
        text = f"P50 latency {_beside(p50_ms, limit, 0)} ms ({_LEVEL_WORDS[latency]} above {limit:g} ms)"
        found.append((latency, text))
    if tail:
        limit = (TAIL_WARNING_RATIO, TAIL_CRITICAL_RATIO)[tail - 1]
        ratio = _beside(p95_ms / p50_ms, limit, 1)
        text = f"P95 is {ratio}{_TIMES} P50 ({_LEVEL_WORDS[tail]} above {limit:g}{_TIMES})"
        found.append((tail, text))
    if errors:
        limit = (ERROR_WARNING_PERCENT, ERROR_CRITICAL_PERCENT)[errors - 1]
        rule = f"warning from {limit:g}%" if errors == 1 else f"critical above {limit:g}%"
        found.append((errors, f"Error rate {_beside(rate, limit, 1)}% ({rule})"))
    if traffic:
        text = (
            f"Traffic {_rate(req_s)} req/s is below half its trailing-hour mean of {_rate(mean_req_s)} req/s"
        )
        found.append((traffic, text))
    # Stable sort: worst level first, rule order within a level.
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def _beside(value: float, threshold: float, decimals: int) -> str:
    """Value with enough decimals not to print as its threshold (200.4 ms, not 200 ms)."""
    for places in range(decimals, decimals + 4):
        text = f"{value:.{places}f}"
        if float(text) != threshold or value == threshold:
            break
    return text


def _rate(volume: float) -> str:
    """A request rate with the decimals its size deserves."""
    return f"{volume:.1f}" if volume >= 1 else f"{volume:.2g}"
