"""Chart series: one deployment's metrics aggregated into equal steps of windows.

A step of up to 15 windows is computed window by window; a longer step is
estimated from 15 evenly spread sample windows, so a 30-day chart costs
1,800 windows, not 43,200. Per point: volume is the mean, latencies the
request-weighted mean of the samples' percentiles, error rate from summed
counts, counts are scaled from the samples to the whole step (exact when every
window is sampled), and `window` is the step's first window.
"""

import numpy as np

from .fleet import Fleet
from .metrics import Metrics, compute_metrics, error_rate_percent

MAX_SAMPLES_PER_STEP = 15
#: (step_windows, points) of each MetricsRange the API serves.
RANGES: dict[str, tuple[int, int]] = {
    "LAST_HOUR": (1, 60),
    "LAST_24_HOURS": (15, 96),
    "LAST_7_DAYS": (60, 168),
    "LAST_30_DAYS": (360, 120),
}


def sample_offsets(step_windows: int) -> np.ndarray:
    """Offsets of the sampled windows inside a step: the midpoints of equal sub-steps."""
    samples = min(step_windows, MAX_SAMPLES_PER_STEP)
    return ((2 * np.arange(samples) + 1) * step_windows) // (2 * samples)


def compute_series(fleet: Fleet, position: int, end_window: int, step_windows: int, points: int) -> Metrics:
    """Chart series of one deployment: `points` steps, oldest first, the last one ending with end_window."""
    if step_windows < 1 or points < 1:
        raise ValueError("step_windows and points must be at least 1")
    first = end_window - step_windows * np.arange(points, 0, -1, dtype=np.int64) + 1
    offsets = sample_offsets(step_windows)
    sampled = compute_metrics(fleet, np.int64(position), first[:, None] + offsets[None, :])

    counts = sampled.request_count.sum(axis=1)
    errors = sampled.error_count.sum(axis=1)
    weight = np.zeros(sampled.request_count.shape)
    np.divide(sampled.request_count, counts[:, None], out=weight, where=counts[:, None] > 0)

    def weighted(percentile: np.ndarray) -> np.ndarray:
        # Windows without requests have NaN percentiles and weight 0: leave them out.
        mean = (weight * np.where(sampled.request_count > 0, percentile, 0.0)).sum(axis=1)
        return np.where(counts > 0, mean, np.nan)

    scale = step_windows / offsets.size
    return Metrics(
        window=first,
        request_count=np.rint(counts * scale).astype(np.int64),
        request_volume=sampled.request_volume.mean(axis=1),
        error_count=np.rint(errors * scale).astype(np.int64),
        p50=weighted(sampled.p50),
        p95=weighted(sampled.p95),
        p99=weighted(sampled.p99),
        error_rate=error_rate_percent(errors, counts),
        serving=sampled.serving.any(axis=1),
    )
