"""Inference metrics of (deployment, window) pairs: one vectorised numpy pass."""

from dataclasses import dataclass

import numpy as np

from ._random import NORMAL, UNIFORM, hash_counter, slot
from .fleet import Fleet, serving_mask
from .incidents import incidents
from .profile import Z95, Z99_MINUS_Z95, profile
from .traffic import RAMP_WINDOWS, load_factor, ramp
from .windows import WINDOW_SECONDS

_LOAD_SENSITIVITY = 0.12  # P50 rises 12 % per unit of load above the deployment's average
_P50_JITTER = 1.0 + 0.04 * NORMAL  # window-to-window noise of P50
# Window-to-window noise of the tail shape (±0.03), as factors on P95/P50 and P99/P95.
_SHAPE_JITTER = 0.06 * (UNIFORM - 0.5)
_P95_JITTER = np.exp(Z95 * _SHAPE_JITTER)
_P99_JITTER = np.exp(Z99_MINUS_Z95 * _SHAPE_JITTER)
_BURSTINESS = 0.05  # relative sd of traffic on top of Poisson noise

# Incident effects by kind (NONE, ERRORS, SLOWDOWN, TRAFFIC_DROP): base + slope · severity.
_VOLUME_FACTOR = (np.array([1.0, 1.0, 1.0, 0.1]), np.array([0.0, 0.0, 0.0, 0.3]))
_P50_FACTOR = (np.array([1.0, 1.2, 1.8, 1.0]), np.array([0.0, 0.3, 1.2, 0.0]))
_SHAPE_ADD = (np.array([0.0, 0.15, 0.45, 0.0]), np.array([0.0, 0.0, 0.5, 0.0]))
# Error fraction = healthy rate · multiplier + extra: error spikes reach 2 to 5 %,
# slowdowns time out a few more requests than usual.
_ERROR_MULTIPLIER = np.array([1.0, 0.0, 3.0, 1.0])
_ERROR_EXTRA = (np.array([0.0, 0.02, 0.0, 0.0]), np.array([0.0, 0.03, 0.0, 0.0]))

_CHUNK = 16384  # pairs per pass: 128 KB temporaries stay in the L2 cache
_STREAM_NOISE = 0x9015E


@dataclass(frozen=True)
class Metrics:
    """Figures per (deployment, window) pair; all arrays share one shape."""

    window: np.ndarray  # int64 window index
    request_count: np.ndarray  # int64, 0 when not serving
    request_volume: np.ndarray  # float64 req/s = request_count / 60
    error_count: np.ndarray  # int64 <= request_count
    p50: np.ndarray  # float64 ms, NaN when request_count == 0
    p95: np.ndarray
    p99: np.ndarray
    error_rate: np.ndarray  # float64 percent 0..100, NaN when request_count == 0
    serving: np.ndarray  # bool


# Of the simulated columns: every field but `window`, which is the input.
_DTYPES = (np.int64, np.float64, np.int64, np.float64, np.float64, np.float64, np.float64, np.bool_)


def _allocate(total: int) -> tuple[np.ndarray, ...]:
    """Simulated output columns in field order, as rows of one block per dtype.

    Three allocations instead of eight: fewer fresh pages for malloc to map, and
    page faults are a large share of a fleet-wide pass on a virtual machine.
    """
    blocks = {dtype: np.empty((_DTYPES.count(dtype), total), dtype=dtype) for dtype in set(_DTYPES)}
    rows = {dtype: iter(block) for dtype, block in blocks.items()}
    return tuple(next(rows[dtype]) for dtype in _DTYPES)


def compute_metrics(fleet: Fleet, index: np.ndarray, window: np.ndarray) -> Metrics:
    """Metrics of the pairs (fleet position index[k], window window[k]); the two broadcast together."""
    index_b, window_b = np.broadcast_arrays(
        np.asarray(index, dtype=np.int64), np.asarray(window, dtype=np.int64)
    )
    shape = index_b.shape
    position, win = index_b.ravel(), window_b.ravel()
    total = position.size
    if total and (position.min() < 0 or position.max() >= fleet.n):
        raise IndexError(f"fleet positions must lie in [0, {fleet.n})")
    if total <= _CHUNK:
        columns = _simulate(fleet, position, win)
    else:
        columns = _allocate(total)
        for begin in range(0, total, _CHUNK):
            part = slice(begin, begin + _CHUNK)
            for column, values in zip(columns, _simulate(fleet, position[part], win[part]), strict=True):
                column[part] = values
    # A copy: the result never shares memory with the caller's array.
    window_column = np.array(window_b)
    return Metrics(window_column, *(column.reshape(shape) for column in columns))


def error_rate_percent(errors: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """100 · errors / requests, NaN where there were no requests (errors are 0 there too)."""
    with np.errstate(invalid="ignore"):
        return np.divide(errors * 100.0, requests)


def _simulate(fleet: Fleet, position: np.ndarray, win: np.ndarray) -> tuple[np.ndarray, ...]:
    """Columns of Metrics after `window`, in field order, for 1-D position and window arrays."""
    # In-place arithmetic on purpose: fewer temporaries means fewer numpy calls and
    # less allocator churn, which is most of the cost at these array sizes.
    prof = profile(fleet.ids[position], fleet.size[position])
    serving = serving_mask(fleet, position, win)
    share = load_factor(prof.phase, win)
    # Only deployments younger than a day are still ramping up.
    age = win - fleet.act_window[position]
    young = np.flatnonzero(age < RAMP_WINDOWS)
    if young.size:
        share[young] *= ramp(age[young])
    expected = np.multiply(prof.volume, share)
    expected *= serving
    expected *= float(WINDOW_SECONDS)
    # Latency rises mildly with load relative to the deployment's own average.
    p50 = np.multiply(share, _LOAD_SENSITIVITY, out=share)
    p50 += 1.0 - _LOAD_SENSITIVITY
    p50 *= prof.p50_ms
    noise = hash_counter(prof.key, _STREAM_NOISE, win)
    p50 *= _P50_JITTER.take(slot(noise, 2))
    tail = slot(noise, 3)
    p95_ratio = prof.p95_ratio
    p95_ratio *= _P95_JITTER.take(tail)
    p99_ratio = prof.p99_ratio
    p99_ratio *= _P99_JITTER.take(tail)
    error_fraction = prof.error_rate

    inc = incidents(prof.key, win, prof.incident_threshold)
    if inc.where.size:
        at, kind, severity = inc.where, inc.kind, inc.severity
        expected[at] *= _VOLUME_FACTOR[0][kind] + _VOLUME_FACTOR[1][kind] * severity
        p50[at] *= _P50_FACTOR[0][kind] + _P50_FACTOR[1][kind] * severity
        shape_add = _SHAPE_ADD[0][kind] + _SHAPE_ADD[1][kind] * severity
        p95_ratio[at] *= np.exp(Z95 * shape_add)
        p99_ratio[at] *= np.exp(Z99_MINUS_Z95 * shape_add)
        error_fraction[at] = (
            error_fraction[at] * _ERROR_MULTIPLIER[kind]
            + _ERROR_EXTRA[0][kind]
            + _ERROR_EXTRA[1][kind] * severity
        )

    # Poisson-like noise (variance = mean) plus burstiness: sd = sqrt(m + (b m)^2).
    draw = np.multiply(expected, _BURSTINESS**2)
    draw += 1.0
    draw *= expected
    np.sqrt(draw, out=draw)
    draw *= NORMAL.take(slot(noise, 0))
    draw += expected
    draw += 0.5
    count = np.maximum(draw, 0.0, out=draw).astype(np.int64)
    # Errors: unbiased randomised rounding, so a healthy window never shows a burst
    # of errors; bursts are what incidents are for. With a fraction below 6 % and a
    # uniform below 1 the sum stays under count + 1, so errors <= count.
    error_draw = np.multiply(count, error_fraction, out=error_fraction)
    error_draw += UNIFORM.take(slot(noise, 1))
    errors = error_draw.astype(np.int64)

    # One NaN in P50 carries over to P95 and P99. The ratios are > 1 by construction.
    p50[count == 0] = np.nan
    p95 = np.multiply(p50, p95_ratio, out=p95_ratio)
    p99 = np.multiply(p95, p99_ratio, out=p99_ratio)
    return (
        count,
        count / WINDOW_SECONDS,
        errors,
        p50,
        p95,
        p99,
        error_rate_percent(errors, count),
        serving,
    )
