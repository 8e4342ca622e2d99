"""Counts drawn from hashed uniforms: Poisson by quantile tables, the normal CDF.

A 12-bit slot indexes UNIFORM and NORMAL (simulator/_random.py); the same slot
gives a Poisson draw by inverting its CDF: from a table for small means, by the
normal approximation with continuity correction for large ones (where the two
agree to well under one count).
"""

from statistics import NormalDist

import numpy as np

from ._random import LEVELS, NORMAL, NORMAL32, UNIFORM

SMALL_MEAN = 24.0  # below it the table, above it the normal approximation
# Table rows are read off a float32 mean's bits: exponent and top mantissa bits, i.e. its
# log2 in steps of 1/32 (~2.2 % apart), with no log taken per draw.
_ROW_SHIFT = 18  # 23 mantissa bits − 5 kept
_SMALLEST = 1e-3  # means below it draw from the row of 0 (a chance under 1 in 1,000 of a count)
_FIRST_BUCKET = int(np.array(_SMALLEST, dtype=np.float32).view(np.int32)) >> _ROW_SHIFT
_LAST_BUCKET = int(np.array(SMALL_MEAN, dtype=np.float32).view(np.int32)) >> _ROW_SHIFT
_ROWS = 1 + (_LAST_BUCKET - _FIRST_BUCKET + 1)  # the row of 0, then one row per bucket
_U_BITS = 10  # the table keeps 1,024 quantiles per row: 4 slot values share one


def _bucket_means() -> np.ndarray:
    """The mean each table row stands for: 0, then each bucket's geometric midpoint."""
    buckets = np.arange(_FIRST_BUCKET, _LAST_BUCKET + 1, dtype=np.int32)
    low = (buckets << _ROW_SHIFT).view(np.float32).astype(np.float64)
    high = ((buckets + 1) << _ROW_SHIFT).view(np.float32).astype(np.float64)
    return np.concatenate(([0.0], np.sqrt(low * high)))


def _poisson_table() -> np.ndarray:
    """Poisson quantiles: row r of mean _bucket_means()[r], 1,024 midpoint quantiles each, uint8."""
    means = _bucket_means()
    k = np.arange(80)
    # log pmf by lgamma-free recursion: log p(k) = k log m − m − log k!
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, k.size)))))
    with np.errstate(divide="ignore", invalid="ignore"):  # row 0: log 0; fixed just below
        log_pmf = k[None, :] * np.log(means)[:, None] - means[:, None] - log_fact[None, :]
    log_pmf[0] = np.where(k == 0, 0.0, -np.inf)
    cdf = np.cumsum(np.exp(log_pmf), axis=1)
    u = (np.arange(1 << _U_BITS) + 0.5) / (1 << _U_BITS)
    return np.stack([np.searchsorted(row, u) for row in cdf]).astype(np.uint8).ravel()


_TABLE = _poisson_table()
_SHIFT = np.int64(12 - _U_BITS)


# Means are clamped in float32 (fast) rather than rows in int32 (numpy's integer minimum and
# maximum are several times slower): below the first bucket a mean falls in the one before,
# the row of 0; at the top it stays in the last bucket.
_LOW = np.array((_FIRST_BUCKET - 1) << _ROW_SHIFT, dtype=np.int32).view(np.float32)
_HIGH = np.array((_LAST_BUCKET << _ROW_SHIFT) | ((1 << _ROW_SHIFT) - 1), dtype=np.int32).view(np.float32)


def _table_draw(mean: np.ndarray, u_slot: np.ndarray) -> np.ndarray:
    """Poisson draws from the table (uint8; means at or above SMALL_MEAN give the top row's)."""
    clamped = np.maximum(mean, _LOW, dtype=np.float32)
    np.minimum(clamped, _HIGH, out=clamped)
    row = clamped.view(np.int32) >> _ROW_SHIFT
    row -= _FIRST_BUCKET - 1  # the bucket of _SMALLEST → row 1, the one below → row 0
    row <<= _U_BITS
    index = u_slot >> _SHIFT
    index += row
    return _TABLE.take(index)


def _normal_draw(mean: np.ndarray, u_slot: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Normal approximation with continuity correction, for large means (into `out`, int64, if given)."""
    count = np.sqrt(mean)
    count *= NORMAL32.take(u_slot)
    count += mean
    count += 0.5
    np.maximum(count, 0.0, out=count)
    if out is None:
        return count.astype(np.int64)
    np.copyto(out, count, casting="unsafe")  # truncation, as astype: no copy pass afterwards
    return out


def poisson(mean: np.ndarray, u_slot: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Poisson draws (int64) with these float32 means ≥ 0, from 12-bit slots (monotone in the slot).

    `out` may be an int64 array to write them to.
    """
    small = mean < SMALL_MEAN
    if 4 * int(np.count_nonzero(small)) < mean.size:  # mostly large means (request counts)
        draws = _normal_draw(mean, u_slot, out)
        picked = small.nonzero()[0]
        if picked.size:
            draws[picked] = _table_draw(mean[picked], u_slot[picked])
        return draws
    # Mostly small means (error counts): the table for all, the normal approximation for a few.
    if out is None:
        out = np.empty(mean.shape, dtype=np.int64)
    out[...] = _table_draw(mean, u_slot)
    large = (mean >= SMALL_MEAN).nonzero()[0]
    if large.size:
        out[large] = _normal_draw(mean[large], u_slot[large])
    return out


# The standard normal CDF on a uniform grid (numpy has no vectorised erf): 256 points per unit
# over ±8, linearly interpolated, is within 5e-7 of Φ. A uniform grid needs no search.
_CDF_STEPS = 256
_CDF_Z = np.arange(-8 * _CDF_STEPS, 8 * _CDF_STEPS + 2) / _CDF_STEPS
_CDF = np.array([NormalDist().cdf(float(z)) for z in _CDF_Z])
_CDF_SLOPE = np.diff(_CDF, append=1.0)
#: (points per unit, Φ at each grid point, slope to the next): for callers that interpolate Φ
#: themselves (simulator/series.py folds its own scaling into the grid position).
CDF_GRID = (_CDF_STEPS, _CDF, _CDF_SLOPE)
_TABLES = {
    np.dtype(np.float64): (_CDF, _CDF_SLOPE),
    np.dtype(np.float32): (_CDF.astype(np.float32), _CDF_SLOPE.astype(np.float32)),
}


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Φ(z), to about 5e-7 (in z's float type: float32 stays float32)."""
    cdf, slope = _TABLES.get(z.dtype, _TABLES[np.dtype(np.float64)])
    x = np.maximum(z, -8.0) * _CDF_STEPS
    np.minimum(x, 8.0 * _CDF_STEPS, out=x)
    x += 8 * _CDF_STEPS
    index = x.astype(np.int64)
    x -= index
    x *= slope.take(index)
    x += cdf.take(index)
    return x


assert NORMAL.size == UNIFORM.size == LEVELS
