"""Chart series: one deployment's metrics aggregated into equal steps of windows.

A step of up to 15 windows is computed window by window; a longer step is
estimated from 15 evenly spread sample windows, so a 30-day chart costs 1,800
windows, not 43,200. Per point: volume, tokens/s and replicas are means over the
step, utilisation the mean over its serving windows, error rate from summed
counts; counts are scaled from the samples to the whole step (exact when every
window is sampled), and `window` is the step's first window.

Percentiles aggregate as the step's requests would: each window's latency is a
log-normal fitted to its own P50 and P95 (or P99), and a point's percentile is the
percentile of their mixture weighted by requests (found by bisection). A
request-weighted mean of minute percentiles would hide a ten-minute incident in
an hourly P99; the mixture shows it. A one-window step is its window, unchanged.
"""

import numpy as np

from .draws import CDF_GRID, normal_cdf
from .fleet import Fleet
from .metrics import Metrics, compute_metrics, error_rate_percent
from .profile import Z95, Z99

MAX_SAMPLES_PER_STEP = 15
#: (step_windows, points) of each MetricsRange the API serves.
RANGES: dict[str, tuple[int, int]] = {
    "LAST_HOUR": (1, 60),
    "LAST_24_HOURS": (15, 96),
    "LAST_7_DAYS": (60, 168),
    "LAST_30_DAYS": (360, 120),
}
# Safeguarded Newton from a moment-matched start, at most this many rounds: most charts settle in 3,
# but a wide mixture can need 6-7 (4 left quantiles up to 4 % off the exact one).
_NEWTON_ROUNDS = 8
_SETTLED = 1e-5  # in log space: a round that moves no column's quantile by more ends the search
_STEPS, _CDF, _CDF_SLOPE = CDF_GRID
_CDF_TOP = float(16 * _STEPS)  # grid positions run from 0 (z = −8) to this (z = +8)
_ORIGIN = _CDF - np.arange(_CDF.size) * _CDF_SLOPE  # each cell's line through position 0


def sample_offsets(step_windows: int) -> np.ndarray:
    """Offsets of the sampled windows inside a step: the midpoints of equal sub-steps."""
    samples = min(step_windows, MAX_SAMPLES_PER_STEP)
    return ((2 * np.arange(samples) + 1) * step_windows) // (2 * samples)


def mixture_quantile(weight: np.ndarray, mu: np.ndarray, shape: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Quantile of each column's mixture of log-normals(mu, shape) at the level of standard score z[column].

    Columns are problems, rows components (so sums over components add whole rows, a
    fast reduction; over a short last axis numpy's is 3x slower); a component of weight
    0 is left out, and a column with no weight gives NaN. The answer lies between the
    components' own quantiles (the bracket). Newton's method on the mixture CDF (Φ
    interpolated linearly on its grid, whose slope is then the exact derivative) starts
    from the normal with the mixture's mean and variance in log space; a step that
    leaves the bracket bisects it instead. Within 1e-5 of the exact quantile (a bisection of
    the exact CDF, over random mixtures: tests/test_simulator_invariants.py).
    """
    # float64 throughout: mixed float types make numpy cast through buffers, slower than this.
    weight, mu, shape, z = (np.asarray(a, dtype=np.float64, order="C") for a in (weight, mu, shape, z))
    present = weight > 0
    total = weight.sum(axis=0)
    empty = total == 0
    w = weight / np.where(empty, 1.0, total)
    mu = np.where(present, mu, 0.0)
    own = z * shape
    own += mu
    lo = np.where(present, own, np.inf).min(axis=0)
    own[~present] = -np.inf
    hi = own.max(axis=0)
    lo[empty] = hi[empty] = 0.0
    level = normal_cdf(z)
    weighted = w * mu
    mean = weighted.sum(axis=0)
    spread = mu - mean
    spread *= spread
    spread += shape * shape
    spread *= w
    x = np.minimum(np.maximum(mean + z * np.sqrt(spread.sum(axis=0)), lo), hi)
    # Grid position of x in component j: x·scale_j − offset_j; d(position)/dx = scale_j.
    scale = _STEPS / shape
    offset = mu * scale - 8 * _STEPS
    # Φ at a position p of cell c is _ORIGIN[c] + p·_CDF_SLOPE[c]: no fraction p − c to take.
    # Φ values and slopes share one array, so one product and one sum give gap and density.
    weights = np.stack((w, w * scale))
    terms = np.empty(weights.shape)
    position, slope = terms
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(_NEWTON_ROUNDS):
            np.multiply(x, scale, out=position)
            position -= offset
            np.maximum(position, 0.0, out=position)
            np.minimum(position, _CDF_TOP, out=position)
            cell = position.astype(np.intp)
            _CDF_SLOPE.take(cell, out=slope)
            position *= slope
            position += _ORIGIN.take(cell)
            terms *= weights
            gap, density = terms.sum(axis=1)
            gap -= level
            below = gap < 0
            lo = np.where(below, x, lo)
            hi = np.where(below, hi, x)
            step = x - gap / density
            step = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
            x -= step
            # Newton converges quadratically: after a round that moved no column by _SETTLED
            # the next would move them by ~_SETTLED², far below the grid's own error of Φ.
            settled = float(np.abs(x).max()) < _SETTLED
            x = step
            if settled:
                break
    out = np.exp(x)
    out[empty] = np.nan
    return out


def mixture_percentiles(s: Metrics) -> tuple[np.ndarray, ...]:
    """Mixture P50, P95 and P99 per point, one stacked problem (float32: 7 digits are plenty),
    and TTFT P50 as the mixture P50 times the windows' request-weighted TTFT share."""
    present = s.request_count > 0
    weight = s.request_count.astype(np.float32)

    def logs(figure: np.ndarray) -> np.ndarray:
        return np.log(np.where(present, figure, 1.0).astype(np.float32))

    log50, log95, log99 = logs(s.p50), logs(s.p95), logs(s.p99)
    shape95 = np.maximum((log95 - log50) * (1 / Z95), 1e-6)
    shape99 = np.maximum((log99 - log50) * (1 / Z99), 1e-6)
    # Each window is fitted by its P50 and P95 (by its P99 for the P99).
    points = weight.shape[0]
    found = mixture_quantile(  # windows as rows, points as columns
        np.concatenate((weight, weight, weight)).T,
        np.concatenate((log50, log50, log50)).T,
        np.concatenate((shape95, shape95, shape99)).T,
        np.repeat(np.array([0.0, Z95, Z99], dtype=np.float32), points),
    ).reshape(3, points)
    p50, p95, p99 = found.astype(np.float64)
    # Fitted separately, they could cross by a rounding error: keep them ordered.
    p95 = np.maximum(p95, p50)
    p99 = np.maximum(p99, p95)
    with np.errstate(invalid="ignore"):
        share = np.where(present, s.ttft_p50 / np.where(present, s.p50, 1.0), 0.0)
        ttft_share = (share * weight).sum(axis=1) / weight.sum(axis=1)
    return p50, p95, p99, np.minimum(p50 * ttft_share, p50)


def compute_series(fleet: Fleet, position: int, end_window: int, step_windows: int, points: int) -> Metrics:
    """Chart series of one deployment: `points` steps, oldest first, the last one ending with end_window."""
    if step_windows < 1 or points < 1:
        raise ValueError("step_windows and points must be at least 1")
    first = end_window - step_windows * np.arange(points, 0, -1, dtype=np.int64) + 1
    if step_windows == 1:
        return compute_metrics(fleet, np.int64(position), first)
    offsets = sample_offsets(step_windows)
    s = compute_metrics(fleet, np.int64(position), first[:, None] + offsets[None, :])

    counts = s.request_count.sum(axis=1)
    errors = s.error_count.sum(axis=1)
    p50, p95, p99, ttft_p50 = mixture_percentiles(s)
    # Time to first token keeps its P95 : P50 ratio of the request latency's.
    ttft_p95 = np.minimum(ttft_p50 * (p95 / p50), p95)
    serving = s.serving.any(axis=1)
    with np.errstate(invalid="ignore"):
        utilisation = np.where(s.serving, s.utilization, 0.0).sum(axis=1) / s.serving.sum(axis=1)
    samples = offsets.size  # means as sum / count: what .mean computes, without its Python layer
    scale = step_windows / samples
    return Metrics(
        window=first,
        request_count=np.rint(counts * scale).astype(np.int64),
        request_volume=np.add.reduce(s.request_volume, axis=1) / samples,
        error_count=np.rint(errors * scale).astype(np.int64),
        p50=p50,
        p95=p95,
        p99=p99,
        error_rate=error_rate_percent(errors, counts),
        serving=serving,
        ttft_p50=ttft_p50,
        ttft_p95=ttft_p95,
        tokens_per_second=np.add.reduce(s.tokens_per_second, axis=1) / samples,
        replicas=np.add.reduce(s.replicas, axis=1) / samples,
        utilization=np.where(serving, utilisation, np.nan),
    )
