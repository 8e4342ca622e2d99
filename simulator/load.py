"""The load model: replicas from a lagging autoscaler, utilisation, and latency from queueing.

Each deployment runs replicas of a fixed capacity (req/s at utilisation 1). The
autoscaler sizes them for the load it saw a few minutes ago (it scales up after
traffic.LAG_UP windows, and down only once every window from traffic.LAG_UP to traffic.LAG_DOWN
ago saw less: a scale-down stabilisation window), so a rise in traffic runs at a
higher utilisation ρ until replicas catch up. Latency follows ρ as in a queue:
P50 ∝ 1 + a·ρ/(1−ρ), and the tail's log-sd grows by b·√(ρ/(1−ρ)), so tails widen
before the median moves. Past ρ = 1 the excess is shed (fast errors) and the
served requests run at the queue's limit, where many reach the 60 s timeout.
"""

import numpy as np

from ._random import NORMAL32
from .draws import normal_cdf
from .profile import Z95, Z99

MAX_REPLICAS = 64.0
TIMEOUT_MS = 60_000.0  # the gateway's timeout: slower requests fail
_LOG_TIMEOUT = float(np.log(TIMEOUT_MS))
_RHO_LIMIT = 0.97  # a saturated queue: served requests wait about this long
# Standard errors of sample quantiles of n requests, in units of the log-normal's s / √n:
# √(p(1−p)) / φ(z_p) for p = 0.5, 0.95, 0.99.
_SE50, _SE95, _SE99 = 1.2533, 2.1131, 3.7328
_FEWEST = np.float32(1.0 / _SE99)  # 1/√n for n ≈ 14
# Standard-normal draws times each quantile's standard error, per slot value (float32).
_NOISE50, _NOISE95, _NOISE99 = (NORMAL32 * np.float32(se) for se in (_SE50, _SE95, _SE99))
COLD_LATENCY = 3.0  # an unloaded replica set is this much slower at its first minute


def replicas(
    seen_rate: np.ndarray, capacity: np.ndarray, target: np.ndarray, minimum: np.ndarray
) -> np.ndarray:
    """Replicas the autoscaler runs for the rate it saw: enough for its target utilisation (float64)."""
    wanted = np.ceil(seen_rate / (capacity * target))
    np.maximum(wanted, minimum, out=wanted)
    return np.minimum(wanted, MAX_REPLICAS, out=wanted)


def queueing(rho: np.ndarray) -> np.ndarray:
    """ρ/(1−ρ) with ρ capped at the saturated queue's limit."""
    capped = np.minimum(rho, _RHO_LIMIT)
    return capped / (1.0 - capped)


def percentiles(
    log50: np.ndarray,
    shape: np.ndarray,
    p99_bonus: np.ndarray,
    inv_sqrt: np.ndarray,
    bits_z: tuple[np.ndarray, ...],
    out: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P50, P95 and P99 measured from n requests of a log-normal(log50, shape); inv_sqrt = 1/√n.

    Sampling noise shrinks with √n (as for 14 requests below that: a P99's noise stays
    within one shape); the results are ordered, capped at the timeout and written to `out`
    (three arrays, float64 output columns), which are returned.
    """
    inv_sqrt = np.minimum(inv_sqrt, _FEWEST)
    logs = []
    for z, errors in ((0.0, _NOISE50), (Z95, _NOISE95), (Z99, _NOISE99)):
        spread = errors.take(bits_z[len(logs)])
        spread *= inv_sqrt
        if z:
            spread += z
        spread *= shape
        spread += log50
        logs.append(spread)
    lo, mid, hi = logs
    hi += p99_bonus
    np.maximum(mid, lo, out=mid)
    np.maximum(hi, mid, out=hi)
    # Capping commutes with the ordering, and the ordered P99 is the largest: when it stays
    # clear of the timeout (nearly always) neither cap changes anything and both are skipped.
    capped = hi.size > 0 and not float(hi.max()) < _LOG_TIMEOUT - 1e-3
    for v, column in zip((lo, mid, hi), out, strict=True):
        if capped:
            np.minimum(v, _LOG_TIMEOUT, out=v)
        np.exp(v, out=column)
        if capped:  # exp(log(timeout)) may round a hair above the timeout: cap again
            np.minimum(column, TIMEOUT_MS, out=column)
    return out[0], out[1], out[2]


def timed_out(log50: np.ndarray, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of a log-normal(log50, shape) that reach the timeout within 4 sd (indices), and
    the share of their requests slower than it (elsewhere the share is 0)."""
    # Usually no pair comes near: two reductions instead of four passes (with a margin far
    # beyond float32 rounding, so the per-pair test below would have found none either).
    if log50.size == 0 or float(log50.max()) + 4.0 * float(shape.max()) < _LOG_TIMEOUT - 1e-3:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=log50.dtype)
    reach = shape * 4.0
    reach += log50
    slow = (reach > _LOG_TIMEOUT).nonzero()[0]  # beyond 4 sd: nothing to count
    return slow, 1.0 - normal_cdf((_LOG_TIMEOUT - log50[slow]) / shape[slow])
