"""Inference metrics of (deployment, window) pairs: one vectorised numpy pass.

Per pair: the request rate (traffic.py), replicas and utilisation (load.py),
incidents (incidents.py), then the window's requests drawn from that: a Poisson
count of the model's requests of which the version serves its share, of them a count of failed
ones, percentiles measured from that many requests.
"""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ._random import NORMAL32, hash_counter, slot
from .draws import poisson
from .episodes import ERRORS, SLOWDOWN, TRAFFIC_DROP, rollout_incidents
from .fleet import Fleet, serving_and_start, share_of
from .gather import Broadcast, RunGather, consecutive, gatherer
from .incidents import Incidents, incidents, own_at
from .load import COLD_LATENCY, percentiles, queueing, replicas, timed_out
from .pools import WindowTerms, window_terms
from .profile import QUEUE_P50, QUEUE_SHAPE
from .traffic import COUNT_SLOTS, NOISE_PERIOD, RAMP_WINDOWS, ramp, rate_factors
from .windows import WINDOW_SECONDS

_COLD_ERRORS = 0.05  # share of requests failing in the first minute of a cold start
_TOKEN_SPREAD = 0.8  # sd / mean of output lengths: a window's mean varies by this / √n
_TOKEN_NOISE = _TOKEN_SPREAD * NORMAL32 / 3.5  # float32, per slot value: as computed per pair before
_CHUNK = 65536  # most pairs per pass (chunks of equal size; measured below)
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
    ttft_p50: np.ndarray  # float64 ms to the first output token, NaN when request_count == 0
    ttft_p95: np.ndarray
    tokens_per_second: np.ndarray  # float64 output tokens/s, 0 when not serving
    replicas: np.ndarray  # float64 replicas serving (whole numbers per window), 0 when not serving
    utilization: np.ndarray  # float64 percent of capacity busy, NaN when not serving


# Of the simulated columns: every field but `window`, which is the input.
_DTYPES = (np.int64, np.float64, np.int64) + (np.float64,) * 4 + (np.bool_,) + (np.float64,) * 5


def _allocate(total: int) -> tuple[np.ndarray, ...]:
    """Simulated output columns in field order, as rows of one block per dtype.

    Three allocations instead of thirteen: fewer fresh pages for malloc to map, and
    page faults are a large share of a fleet-wide pass on a virtual machine.
    """
    blocks = {dtype: np.empty((_DTYPES.count(dtype), total), dtype=dtype) for dtype in set(_DTYPES)}
    rows = {dtype: iter(block) for dtype, block in blocks.items()}
    return tuple(next(rows[dtype]) for dtype in _DTYPES)


def compute_metrics(fleet: Fleet, index: np.ndarray, window: np.ndarray) -> Metrics:
    """Metrics of the pairs (fleet position index[k], window window[k]); the two broadcast together."""
    index_a, window_a = np.asarray(index, dtype=np.int64), np.asarray(window, dtype=np.int64)
    index_b, window_b = np.broadcast_arrays(index_a, window_a)
    shape = index_b.shape
    position, win = index_b.ravel(), window_b.ravel()
    total = position.size
    # Extremes read off the arrays before broadcasting: the same numbers from fewer elements
    # (a block of 1,000 deployments x 1,440 windows: 2,440 instead of 2 x 1,440,000).
    lowest, highest = (int(index_a.min()), int(index_a.max())) if total else (0, 0)
    if total and (lowest < 0 or highest >= fleet.n):
        raise IndexError(f"fleet positions must lie in [0, {fleet.n})")
    one_window = np.ndim(window) == 0
    # How the pairs' positions are laid out, once per call (every chunk shares it).
    one_deployment = total > 0 and lowest == highest
    in_order = not one_deployment and highest - lowest == total - 1 and consecutive(position)
    columns = _allocate(total)
    terms = None
    if total:  # window-only incident terms: once per call, not per chunk
        fleet_wide = one_window and total == fleet.n and in_order
        low, high = int(window_a.min()), int(window_a.max())
        terms = window_terms(low, high, own_at(fleet, low) if fleet_wide else None)
    # Chunks of equal size (no small last chunk: each pays the same fixed costs).
    chunks = -(-total // _CHUNK)
    bounds = [total * k // chunks for k in range(chunks + 1)] if total else [0]
    for begin, end in pairwise(bounds):
        part = slice(begin, end)
        chunk = position[part]
        gather = gatherer(chunk, one_deployment, in_order)
        _simulate(
            fleet, chunk, win[part], (one_window, in_order), gather, tuple(c[part] for c in columns), terms
        )
    # A copy: the result never shares memory with the caller's array. Where ravel had to copy
    # the broadcast windows (a block), that copy is the column (read only above: no second copy).
    window_column = win.reshape(shape) if win.flags.owndata else np.array(window_b)
    return Metrics(window_column, *(column.reshape(shape) for column in columns))


def error_rate_percent(errors: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """100 · errors / requests, NaN where there were no requests (errors are 0 there too)."""
    rate = errors * 100.0
    with np.errstate(invalid="ignore"):
        return np.divide(rate, requests, out=rate)


def _hit(
    inc: Incidents,
    rate: np.ndarray,
    fraction: np.ndarray | None,
    capacity: np.ndarray,
    base: np.ndarray,
    shape: np.ndarray,
    error_fraction: np.ndarray,
) -> np.ndarray | None:
    """Apply the incidents to the pairs' figures in place; the version's fraction of the model's
    requests returned (a new one if a traffic drop needs it).

    A kind absent from the incidents is skipped: its factor would be 1 (its addend 0) for every
    pair, which leaves the figures unchanged; most calls see no traffic drop, and then the
    request counts need no rounding pass by a fraction either.
    """
    at, kind, level = inc.where, inc.kind, inc.level
    drop = kind == TRAFFIC_DROP
    if drop.any():
        dropped = np.where(drop, 1.0 - 0.9 * level, 1.0).astype(np.float32)
        rate[at] *= dropped
        if fraction is None:
            fraction = np.ones(rate.shape, dtype=np.float32)
        fraction[at] *= dropped
    slowdown = kind == SLOWDOWN
    if slowdown.any():
        capacity[at] *= np.where(slowdown, 1.0 - 0.8 * level, 1.0)
    errors = kind == ERRORS
    base[at] *= 1.0 + np.where(errors, 0.3, 0.6) * level
    shape[at] += 0.25 * level
    if errors.any():
        error_fraction[at] += np.where(errors, 0.01 + 0.25 * level * level, 0.0)
    return fraction


def _simulate(
    fleet: Fleet,
    position: np.ndarray,
    win: np.ndarray,
    layout: tuple[bool, bool],
    gather: Callable[[np.ndarray], np.ndarray],
    out: tuple[np.ndarray, ...],
    terms: WindowTerms | None,
) -> None:
    """Fill `out`, the columns of Metrics after `window` in field order, for 1-D position and
    window arrays; `layout` says whether every pair's window is the same and whether the
    positions are consecutive, `gather` gives per-pair values (gatherer()).

    The last step of each figure writes straight into its output column (`out=`): no
    temporary per column and no copy pass afterwards.
    """
    # In-place arithmetic on purpose: fewer temporaries means fewer numpy calls and
    # less allocator churn, which is most of the cost at these array sizes.
    t = fleet.traits
    one_window, in_order = layout
    one_deployment = isinstance(gather, Broadcast)
    w = int(win[0]) if one_window else win  # one window: arithmetic with one number
    serving, start = serving_and_start(fleet, position, w, gather)
    age = w - gather(fleet.act_window)
    week_start = gather(t.week_start)
    # The autoscaler sized replicas for the rate it saw: up after LAG_UP, down after LAG_DOWN.
    rate, seen = rate_factors(week_start, gather(t.noise_at), gather(t.drift_offset), w)
    rate *= gather(t.volume)
    young = (age < RAMP_WINDOWS).nonzero()[0]
    # The model's traffic ramps up from the model's first activation (often this version's own).
    own_start = fleet.model_act_window is fleet.act_window
    model_age = age if own_start else w - gather(fleet.model_act_window)
    ramping = young if own_start else (model_age < RAMP_WINDOWS).nonzero()[0]
    if ramping.size:
        rate[ramping] *= ramp(model_age[ramping])
    model_expected = rate * np.float32(WINDOW_SECONDS)  # the model's requests in the window
    # The version's share of them (share × any traffic drop below), None while it is all of them.
    fraction = share_of(fleet, position, w, gather)
    warm = serving  # replicas loaded: serving, or standing by at a share of 0 (no requests)
    if fraction is not None:
        rate *= fraction
        serving = serving & (fraction > 0)
    seen *= rate
    per_replica = gather(t.capacity)
    n_replicas = replicas(seen, per_replica, gather(t.target), gather(t.min_replicas))
    capacity = per_replica * n_replicas
    key = gather(t.key)
    # Modified in place below: copies unless the gather gives fresh arrays (runs repeated).
    views = not isinstance(gather, RunGather)
    base = gather(t.base_p50).copy() if views else gather(t.base_p50)  # becomes P50 before sampling
    shape = gather(t.shape).copy() if views else gather(t.shape)
    error_fraction = gather(t.error_rate).copy() if views else gather(t.error_rate)

    # Cold start: replicas become ready one by one over the first minutes after (re)start.
    since = w - start
    cold_windows = gather(t.cold_windows)
    cold = (serving & (since < cold_windows)).nonzero()[0]
    if cold.size:
        unready = 1.0 - (since[cold] + 1.0) / (cold_windows[cold] + 1.0)
        capacity[cold] *= 1.0 - unready
        base[cold] *= 1.0 + COLD_LATENCY * unready
        error_fraction[cold] += _COLD_ERRORS * unready

    rows = (fleet, int(position[0])) if in_order and one_window else None
    inc = incidents(
        key,
        gather(t.proneness),
        gather(t.pool),
        week_start,
        age,
        win,
        young,
        one_deployment,
        rows,
        terms,
        one_window,
        gather.starts if isinstance(gather, RunGather) else None,
        rollout_incidents(t, position, age, young),
    )
    if inc.where.size:
        fraction = _hit(inc, rate, fraction, capacity, base, shape, error_fraction)

    rho = rate / capacity
    idle = (~serving).nonzero()[0]
    noise = hash_counter(key, _STREAM_NOISE, w)
    q = queueing(rho)
    p50_true = np.multiply(q, QUEUE_P50)
    p50_true += 1.0
    p50_true *= base
    shape += QUEUE_SHAPE * np.sqrt(q)
    log50 = np.log(p50_true)
    # Beyond capacity the excess is shed; of the rest, the slowest hit the timeout.
    overloaded = (rho > 1.0).nonzero()[0]
    if overloaded.size:
        error_fraction[overloaded] += 1.0 - 1.0 / rho[overloaded]
    slow, share = timed_out(log50, shape)
    error_fraction[slow] += share
    np.minimum(error_fraction, 1.0, out=error_fraction)
    # The model's requests are one Poisson count, read from the model's slot (the same for each
    # version); a version serves its fraction of them, as a weighted router splits requests: a
    # binomial draw (its normal approximation, from the pair's own slot), so two versions of one
    # share differ minute to minute instead of repeating one rounded count.
    count = poisson(model_expected, COUNT_SLOTS.take(gather(t.count_at) + (w & (NOISE_PERIOD - 1))), out[0])
    if fraction is not None:
        part = (fraction < 1.0).nonzero()[0]
        share, whole = fraction[part], count[part]
        drawn = whole * share
        drawn += np.sqrt(drawn * (1.0 - share)) * NORMAL32.take(slot(noise[part], 0))
        np.clip(np.rint(drawn), 0, whole, out=drawn)
        count[part] = drawn
    count[idle] = 0
    requests = count.astype(np.float32)  # float32 arithmetic below: no float64 pass per figure
    # Of them, the failing ones: a Poisson count of the expected errors (a binomial's close
    # approximation at these error rates), at most every request.
    failing = np.multiply(requests, error_fraction, out=error_fraction)
    errors = poisson(failing, slot(noise, 1), out[2])
    np.minimum(errors, count, out=errors)
    served = count - errors

    z_slots = (slot(noise, 2), slot(noise, 3), slot(noise, 4))
    # 1/√n; n = 0 gives inf, which both uses cap (percentiles' and the token spread's).
    inv_sqrt = np.sqrt(requests, out=requests)
    with np.errstate(divide="ignore"):
        np.divide(1.0, inv_sqrt, out=inv_sqrt)
    p50, p95, p99 = percentiles(log50, shape, gather(t.p99_bonus), inv_sqrt, z_slots, out[3:6])

    no_requests = (count == 0).nonzero()[0]
    p50[no_requests] = np.nan
    p95[no_requests] = np.nan
    p99[no_requests] = np.nan
    # Time to first token: the prefill share of the service time plus all of the queueing.
    queue_share = QUEUE_P50 * q
    ttft_share = (gather(t.prefill) + queue_share) / (1.0 + queue_share)
    tokens = np.multiply(served, gather(t.tokens), dtype=np.float32)
    tokens *= 1.0 / WINDOW_SECONDS
    # A window's mean output length varies with its requests (the P50 draw: longer answers, slower).
    spread = np.minimum(inv_sqrt, 0.5 / _TOKEN_SPREAD)
    spread *= _TOKEN_NOISE.take(z_slots[0])
    spread += 1.0
    np.multiply(tokens, spread, out=out[10])
    np.divide(count, WINDOW_SECONDS, out=out[1])
    np.multiply(errors, 100.0, out=out[6])
    with np.errstate(invalid="ignore"):  # NaN where there were no requests (errors are 0 there too)
        np.divide(out[6], count, out=out[6])
    out[7][...] = serving
    np.multiply(p50, ttft_share, out=out[8])
    np.multiply(p95, ttft_share, out=out[9])
    # No replicas where none are loaded; a standby's are, idle (utilisation 0 %).
    unloaded = idle if warm is serving else (~warm).nonzero()[0]
    out[11][...] = n_replicas
    out[11][unloaded] = 0.0
    utilisation = np.minimum(rho, 1.0, out=out[12])
    utilisation *= 100.0
    utilisation[unloaded] = np.nan
