"""Chart series: one deployment's metrics aggregated into equal steps of windows.

A step of up to 15 windows is computed window by window; a longer step is
estimated from 15 evenly spread sample windows, so a 30-day chart costs 1,800
windows, not 43,200. Per point: volume, tokens/s and replicas are means over the
step, utilisation the mean over its windows with replicas (a standby's idle at 0 %),
error rate from summed counts; counts are scaled from the samples to the whole step
(exact when every window is sampled), and `window` is the step's first window.

Percentiles aggregate as the step's requests would: each window's latency is a
log-normal fitted to its own P50 and P95 (or P99), and a point's percentile is the
percentile of their mixture weighted by requests (found by bisection). A
request-weighted mean of minute percentiles would hide a ten-minute incident in
an hourly P99; the mixture shows it. A one-window step is its window, unchanged.
"""

from dataclasses import fields

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


def mixture_quantile(
    weight: np.ndarray, mu: np.ndarray, shape: np.ndarray, z: np.ndarray, level: np.ndarray | None = None
) -> np.ndarray:
    """Quantile of each column's mixture of log-normals(mu, shape) at the level of standard score z[column].

    Columns are problems, rows components (so sums over components add whole rows, a
    fast reduction; over a short last axis numpy's is 3x slower); a component of weight
    0 is left out, and a column with no weight gives NaN. The answer lies between the
    components' own quantiles (the bracket). Newton's method on the mixture CDF (Φ
    interpolated linearly on its grid, whose slope is then the exact derivative) starts
    from the normal with the mixture's mean and variance in log space; a step that
    leaves the bracket bisects it instead. Within 1e-5 of the exact quantile (a bisection of
    the exact CDF, over random mixtures: tests/test_simulator_invariants.py). `level` is
    normal_cdf(z), when the caller has it (a chart asks for three levels only).
    """
    # float64 throughout: mixed float types make numpy cast through buffers, slower than this.
    # (No copy when the arrays are float64 and C-ordered already, as mixture_percentiles builds them.)
    weight, mu, shape, z = (np.asarray(a, dtype=np.float64, order="C") for a in (weight, mu, shape, z))
    present = weight > 0
    total = weight.sum(axis=0)
    empty = total == 0
    # The normalised weights and their products with the grid scale, as one block: a Newton
    # round multiplies Φ values and slopes by them with one product and sums both with one sum.
    weights = np.empty((2, *weight.shape))
    w, w_scale = weights
    np.divide(weight, np.where(empty, 1.0, total), out=w)
    mu = np.where(present, mu, 0.0)
    own = z * shape
    own += mu
    lo = np.where(present, own, np.inf).min(axis=0)
    np.copyto(own, -np.inf, where=~present)
    hi = own.max(axis=0)
    lo[empty] = hi[empty] = 0.0
    if level is None:
        level = normal_cdf(z)
    weighted = w * mu
    mean = weighted.sum(axis=0)
    spread = np.subtract(mu, mean, out=weighted)  # the w·mu products are summed: reuse them
    spread *= spread
    spread += np.multiply(shape, shape, out=own)  # the components' upper quantiles are taken too
    spread *= w
    x = np.sqrt(spread.sum(axis=0))
    x *= z
    x += mean
    np.maximum(x, lo, out=x)
    np.minimum(x, hi, out=x)
    # Grid position of x in component j: x·scale_j − offset_j; d(position)/dx = scale_j.
    scale = np.divide(_STEPS, shape)
    offset = np.multiply(mu, scale, out=mu)
    offset -= 8 * _STEPS
    # Φ at a position p of cell c is _ORIGIN[c] + p·_CDF_SLOPE[c]: no fraction p − c to take.
    # Φ values and slopes share one array, so one product and one sum give gap and density.
    np.multiply(w, scale, out=w_scale)
    terms = np.empty(weights.shape)
    position, slope = terms
    cell = np.empty(position.shape, dtype=np.intp)
    inside = np.empty(x.shape, dtype=np.bool_)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(_NEWTON_ROUNDS):
            np.multiply(x, scale, out=position)
            position -= offset
            np.maximum(position, 0.0, out=position)
            np.minimum(position, _CDF_TOP, out=position)
            np.copyto(cell, position, casting="unsafe")  # truncation, as astype(np.intp)
            _CDF_SLOPE.take(cell, out=slope, mode="clip")  # mode='raise' buffers `out`: slower
            position *= slope
            position += _ORIGIN.take(cell)
            terms *= weights
            gap, density = terms.sum(axis=1)
            gap -= level
            below = gap < 0
            np.copyto(lo, x, where=below)
            np.copyto(hi, x, where=~below)
            # The Newton step, or the bracket's midpoint where the step would leave it.
            step = np.divide(gap, density, out=gap)
            np.subtract(x, step, out=step)
            np.greater_equal(step, lo, out=inside)
            inside &= step <= hi
            middle = lo + hi
            middle *= 0.5
            np.copyto(step, middle, where=~inside)
            x -= step
            # Newton converges quadratically: after a round that moved no column by _SETTLED
            # the next would move them by ~_SETTLED², far below the grid's own error of Φ.
            np.abs(x, out=x)
            settled = float(x.max()) < _SETTLED
            x = step
            if settled:
                break
    out = np.exp(x, out=x)
    out[empty] = np.nan
    return out


_LEVEL_Z = np.array([0.0, Z95, Z99], dtype=np.float32).astype(np.float64)  # standard scores, as float32
_LEVELS = normal_cdf(_LEVEL_Z)


def mixture_percentiles(s: Metrics) -> tuple[np.ndarray, ...]:
    """Mixture P50, P95 and P99 per point, one stacked problem (float32 logs: 7 digits are plenty),
    and TTFT P50 as the mixture P50 times the windows' request-weighted TTFT share."""
    present = s.request_count > 0
    absent = ~present
    weight = s.request_count.astype(np.float32)
    # The three percentiles' logs in one pass each (1 where a window has none: weight 0 there).
    figures = np.array((s.p50, s.p95, s.p99))  # np.stack's Python layer costs as much again
    np.copyto(figures, 1.0, where=absent)
    log50, log95, log99 = np.log(figures.astype(np.float32))
    shape95 = np.maximum((log95 - log50) * (1 / Z95), 1e-6)
    shape99 = np.maximum((log99 - log50) * (1 / Z99), 1e-6)
    # Each window is fitted by its P50 and P95 (by its P99 for the P99): windows as rows, the three
    # percentiles' points side by side as columns, written straight in float64 (no copies to cast).
    points, windows = weight.shape
    stacked = (windows, 3, points)
    weights, mus, shapes = np.empty(stacked), np.empty(stacked), np.empty(stacked)
    weights[...] = weight.T[:, None]
    mus[...] = log50.T[:, None]
    shapes[:, :2] = shape95.T[:, None]
    shapes[:, 2] = shape99.T
    columns = (windows, 3 * points)
    p50, p95, p99 = mixture_quantile(
        weights.reshape(columns),
        mus.reshape(columns),
        shapes.reshape(columns),
        np.repeat(_LEVEL_Z, points),
        np.repeat(_LEVELS, points),
    ).reshape(3, points)
    # Fitted separately, they could cross by a rounding error: keep them ordered.
    p95 = np.maximum(p95, p50)
    p99 = np.maximum(p99, p95)
    # A window's TTFT share of its P50 (NaN / NaN where it had no requests: weight 0 there).
    share = s.ttft_p50 / s.p50
    np.copyto(share, 0.0, where=absent)
    share *= weight
    with np.errstate(invalid="ignore"):  # a point without requests: NaN
        ttft_share = share.sum(axis=1) / weight.sum(axis=1)
    return p50, p95, p99, np.minimum(p50 * ttft_share, p50)


def combined_figures(m: Metrics) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The figures that combine alike over axis 1 of `m`, whether its columns are a chart step's
    windows or a model's versions (simulator/together.py), as Metrics fields, with the summed
    request counts: error rate from the summed counts, serving if any is, the request-weighted
    mixture percentiles and TTFT (the TTFT keeps its P95 : P50 ratio of the request latency's)."""
    counts = m.request_count.sum(axis=1)
    errors = m.error_count.sum(axis=1)
    p50, p95, p99, ttft_p50 = mixture_percentiles(m)
    with np.errstate(invalid="ignore"):  # NaN / NaN where no column had requests
        ttft_p95 = np.minimum(ttft_p50 * (p95 / p50), p95)
    figures = {
        "error_count": errors,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "error_rate": error_rate_percent(errors, counts),
        "serving": m.serving.any(axis=1),
        "ttft_p50": ttft_p50,
        "ttft_p95": ttft_p95,
    }
    return figures, counts


def compute_series(
    fleet: Fleet, position: int | np.ndarray, end_window: int, step_windows: int, points: int
) -> Metrics:
    """Chart series of a deployment: `points` steps, oldest first, the last one ending with end_window.

    `position` may be a 1-D array of fleet positions: their series in one pass (shape (positions,
    points)), as a table of sparklines or a model's versions ask for them.
    """
    if step_windows < 1 or points < 1:
        raise ValueError("step_windows and points must be at least 1")
    positions = np.asarray(position, dtype=np.int64)
    if positions.ndim > 1:
        raise ValueError("position must be one fleet position or a 1-D array of them")
    first = end_window - step_windows * np.arange(points, 0, -1, dtype=np.int64) + 1
    if step_windows == 1:
        return compute_metrics(fleet, positions[..., None], first)
    offsets = sample_offsets(step_windows)
    sampled = compute_metrics(fleet, positions[..., None, None], first[:, None] + offsets[None, :])
    shape = sampled.p50.shape[:-1]  # (points,) or (positions, points)
    # Every deployment's steps as rows of one table: one aggregation (and one mixture solve) for all.
    s = sampled
    if positions.ndim:
        s = Metrics(*(getattr(sampled, f.name).reshape(-1, offsets.size) for f in fields(Metrics)))

    figures, counts = combined_figures(s)
    loaded = s.replicas > 0  # serving, or standing by (idle replicas: 0 %)
    with np.errstate(invalid="ignore"):  # NaN where no sample had replicas (0 / 0)
        utilisation = np.where(loaded, s.utilization, 0.0).sum(axis=1) / loaded.sum(axis=1)
    samples = offsets.size  # means as sum / count: what .mean computes, without its Python layer
    scale = step_windows / samples  # counts: from the samples to the whole step
    figures["error_count"] = np.rint(figures["error_count"] * scale).astype(np.int64)
    series = Metrics(
        window=np.tile(first, positions.size),
        request_count=np.rint(counts * scale).astype(np.int64),
        request_volume=np.add.reduce(s.request_volume, axis=1) / samples,
        tokens_per_second=np.add.reduce(s.tokens_per_second, axis=1) / samples,
        replicas=np.add.reduce(s.replicas, axis=1) / samples,
        utilization=utilisation,
        **figures,
    )
    if positions.ndim == 0:
        return series
    return Metrics(*(getattr(series, f.name).reshape(shape) for f in fields(Metrics)))
