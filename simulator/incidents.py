"""Incidents: rare episodes with log-normal durations, a ramped onset and a slower recovery.

Three sources, each a pure function of (deployment, window):
- a deployment's own incidents: at most one starting per 512-window block (~8.5 h),
  ~0.05 per deployment-day scaled by its proneness and by the load at the start
  (peaks break things), lasting a log-normal time (median 20 min, long tail);
- a GPU pool's incidents: hit every deployment of the pool at once, ~0.015 per pool-day;
- a rollout's incident: one rollout in seven goes wrong within its first two hours.
An incident starts late enough in its block to end inside it, so a window needs only
its own block's draws (one hash for its own incidents, one per block for the pools).
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ._random import LEVELS, NORMAL, SLOT_BITS, UNIFORM, deployment_key, hash_counter, nibble, slot
from .fleet import Fleet
from .profile import POOLS_PER_SIZE
from .traffic import MINUTES_PER_DAY, load_factor

BLOCK_BITS = 9
BLOCK_WINDOWS = 1 << BLOCK_BITS
NONE, ERRORS, SLOWDOWN, TRAFFIC_DROP = 0, 1, 2, 3
OWN_PER_DAY, POOL_PER_DAY, ROLLOUT_SHARE = 0.05, 0.015, 0.15
_POOLS = 3 * POOLS_PER_SIZE
# Durations: log-normal, median 20 min, log-sd 0.75 (a tenth last over 50 min), 3 min to 6 h.
_DURATION = np.clip(np.rint(20.0 * np.exp(0.75 * NORMAL)), 3, 360).astype(np.int64)
_PEAK_BOOST_MAX = 2.5  # the load factor at the start (to the power 1.5) scales the chance, capped here
_OWN_MAX = OWN_PER_DAY * BLOCK_WINDOWS / MINUTES_PER_DAY * _PEAK_BOOST_MAX * LEVELS
# At most one pool incident per block across the fleet: the chance that some pool has one.
_POOL_THRESHOLD = round(POOL_PER_DAY * _POOLS * BLOCK_WINDOWS / MINUTES_PER_DAY * LEVELS)
_ROLLOUT_THRESHOLD = round(ROLLOUT_SHARE * LEVELS)
_ROLLOUT_WINDOWS = 120  # a rollout's incident starts within this many minutes
_SLOWDOWN_FROM, _DROP_FROM = round(0.45 * LEVELS), round(0.8 * LEVELS)  # slot draws: kinds' shares
_STREAM_OWN, _STREAM_POOL, _STREAM_ROLLOUT = 0x1C1DE, 0x1C1DF, 0x1C1E0
_FLEET_KEY = deployment_key(np.array([_STREAM_POOL]))  # pool incidents are the fleet's stream


@dataclass(frozen=True)
class Incidents:
    """The pairs inside an incident (sparse, unique positions) and how hard each is hit."""

    where: np.ndarray  # int64 positions into the batch of pairs
    kind: np.ndarray  # int64 ERRORS, SLOWDOWN or TRAFFIC_DROP (the strongest, if several)
    level: np.ndarray  # float64 in (0, 1]: severity × the ramp of onset and recovery


_CACHED_BLOCKS = 4  # blocks of own incidents a fleet keeps: the current one and a few before
_FIRST_RUN = np.zeros(1, dtype=np.int64)  # one deployment's pairs: one run from the first
_NO_INCIDENTS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))


_TABLE_BLOCKS = 1 << 12  # calls spanning fewer blocks (~4 years) read pool incidents from tables


@dataclass(frozen=True)
class WindowTerms:
    """Incident terms that depend on the window alone, per block from first_block on.

    Computed once per compute_metrics call (not per chunk of pairs): a pool incident hits
    every member of one pool alike, so it is a function of the block and the window.
    """

    first_block: int
    pool: np.ndarray | None  # int64 per block: the pool struck (-1: none); None: no pool incident
    start: np.ndarray | None  # int64 per block: window its incident starts in
    duration: np.ndarray | None  # int64 per block
    amplitude: np.ndarray | None  # float64 per block
    kind: np.ndarray | None  # int64 per block
    own: tuple[np.ndarray, ...] | None = None  # (at, kind, level) of a fleet-wide one-window call


def window_terms(low: int, high: int, fleet_wide: Fleet | None = None) -> WindowTerms | None:
    """The pool incidents of the blocks of windows low .. high (None: too many blocks).

    `fleet_wide`: the call is that whole fleet (positions in order) at the one window low,
    so its own incidents there are found once too, from the fleet's cache of the block.
    """
    first, last = low >> BLOCK_BITS, high >> BLOCK_BITS
    if last - first >= _TABLE_BLOCKS:
        return None
    own = None if fleet_wide is None else _own_at(fleet_wide, low)
    bits = hash_counter(_FLEET_KEY, _STREAM_POOL, np.arange(first, last + 1))
    pool = _struck_pool(bits)
    if not np.any(pool >= 0):  # most blocks: no pool incident anywhere
        return WindowTerms(first, None, None, None, None, None, own)
    duration = _DURATION.take(slot(bits, 3))
    start = ((np.arange(first, last + 1)) << BLOCK_BITS) + _offset(slot(bits, 2), duration)
    amplitude = 0.3 + 0.7 * nibble(bits) / 15
    return WindowTerms(first, pool, start, duration, amplitude, _kind(slot(bits, 4), drops=False), own)


def _own_at(fleet: Fleet, window: int) -> tuple[np.ndarray, ...]:
    """(at, kind, level) of the fleet's own incidents at one window (at: ascending positions)."""
    at, start, duration, amplitude, kind = _fleet_block(fleet, window >> BLOCK_BITS)
    level = _envelope(window - start, duration) * amplitude
    keep = np.flatnonzero(level > 0)
    return at[keep], kind[keep], level[keep]


def _pool_of_table(
    pool: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    terms: WindowTerms,
    rows: tuple[Fleet, int] | None,
    one_window: bool,
) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of pool incidents, from the call's per-block terms."""
    if terms.pool is None:
        return _NO_INCIDENTS
    if one_window:  # one level for the whole pool
        b = int(block[0]) - terms.first_block
        struck = int(terms.pool[b])
        level = float(_envelope(window[:1] - terms.start[b], terms.duration[b])[0] * terms.amplitude[b])
        if struck < 0 or not level > 0:
            return _NO_INCIDENTS
        if rows is not None:  # consecutive fleet positions: the pool's members among them
            members = _pool_members(rows[0], struck)
            at = members[_in_rows(members, rows, window.size)] - rows[1]
        else:
            at = np.flatnonzero(pool == struck)
        return at, np.full(at.size, int(terms.kind[b]), dtype=np.int64), np.full(at.size, level)
    offset = block - terms.first_block
    at = np.flatnonzero(pool == terms.pool.take(offset))
    b = offset.take(at)
    level = _envelope(window.take(at) - terms.start.take(b), terms.duration.take(b)) * terms.amplitude.take(b)
    keep = level > 0
    return at[keep], terms.kind.take(b[keep]), level[keep]


def _envelope(offset: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Ramp up over the first quarter, full strength, recover over the last third (0 outside)."""
    onset = np.maximum(2.0, 0.25 * duration)
    recovery = np.maximum(3.0, 0.35 * duration)
    env = np.minimum(np.minimum((offset + 1.0) / onset, (duration - offset) / recovery), 1.0)
    return np.where((offset >= 0) & (offset < duration), env, 0.0)


def _offset(draw: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Start within the block, uniform over the starts that let the incident end inside it."""
    return (draw * (BLOCK_WINDOWS - duration + 1)) >> SLOT_BITS


def _kind(draw: np.ndarray, drops: bool = True) -> np.ndarray:
    """45 % error spikes, 35 % slowdowns, 20 % traffic drops (or slowdowns instead of drops)."""
    kind = ERRORS + (draw >= _SLOWDOWN_FROM) + (drops & (draw >= _DROP_FROM))
    return kind.astype(np.int64)


def _own_starts(
    key: np.ndarray, proneness: np.ndarray, week_start: np.ndarray, block: np.ndarray, one_deployment: bool
) -> tuple[np.ndarray, ...]:
    """(where, start, duration, amplitude, kind) of the own incidents of the pairs' blocks."""
    low = int(block.min())
    if one_deployment and int(block.max()) - low < block.size // 4:
        # One deployment's many windows share few blocks: hash each block once, then gather.
        bits = hash_counter(key[:1], _STREAM_OWN, np.arange(low, int(block.max()) + 1)).take(block - low)
    else:
        bits = hash_counter(key, _STREAM_OWN, block)
    draw = slot(bits, 0)
    at = np.flatnonzero(draw < _OWN_MAX * proneness)
    bits = bits[at]
    duration = _DURATION.take(slot(bits, 2))
    start = (block[at] << BLOCK_BITS) + _offset(slot(bits, 1), duration)
    boost = np.minimum(load_factor(week_start[at], start) ** 1.5, _PEAK_BOOST_MAX)
    accepted = np.flatnonzero(draw[at] < _OWN_MAX * proneness[at] * boost / _PEAK_BOOST_MAX)
    bits = bits[accepted]
    amplitude = UNIFORM.take(slot(bits, 4))
    return at[accepted], start[accepted], duration[accepted], amplitude, _kind(slot(bits, 3))


def _own(
    key: np.ndarray,
    proneness: np.ndarray,
    week_start: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    one_deployment: bool,
) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of the pairs' own incidents (of their blocks)."""
    at, start, duration, amplitude, kind = _own_starts(key, proneness, week_start, block, one_deployment)
    level = _envelope(window[at] - start, duration) * amplitude
    keep = level > 0
    return at[keep], kind[keep], level[keep]


def _own_runs(
    key: np.ndarray,
    proneness: np.ndarray,
    week_start: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    runs: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """_own for pairs in runs of one deployment: each run of one (deployment, block) hashed once.

    Own incidents are a function of the deployment and the block, so a run's pairs share
    its draws; only the pairs of the few runs with an incident are looked at one by one.
    """
    block_change = np.flatnonzero(block[1:] != block[:-1]) + 1
    if block_change.size * 8 > block.size:  # windows out of order: short runs, pair by pair
        return _own(key, proneness, week_start, window, block, False)
    starts = np.union1d(runs, block_change) if block_change.size else runs
    lengths = np.diff(starts, append=block.size)
    hit, start, duration, amplitude, kind = _own_starts(
        key.take(starts), proneness.take(starts), week_start.take(starts), block.take(starts), False
    )
    if hit.size == 0:
        return _NO_INCIDENTS
    # The pairs of the runs hit: each run's range of pairs, concatenated.
    counts = lengths.take(hit)
    first = np.repeat(starts.take(hit) - (np.cumsum(counts) - counts), counts)
    at = first + np.arange(first.size)
    level = _envelope(window.take(at) - np.repeat(start, counts), np.repeat(duration, counts))
    level *= np.repeat(amplitude, counts)
    keep = level > 0
    return at[keep], np.repeat(kind, counts)[keep], level[keep]


def _fleet_block(fleet: Fleet, block: int) -> tuple[np.ndarray, ...]:
    """_own_starts of every deployment of the fleet in one block, cached on the (immutable) fleet.

    A block lasts BLOCK_WINDOWS windows, so each fleet-wide pass of the next hours (every
    poll, and the health run's earlier windows) finds it: one hash per deployment a block.
    """
    blocks = fleet.cache.setdefault("own incidents", {})
    found = blocks.get(block)
    if found is None:
        t = fleet.traits
        found = _own_starts(t.key, t.proneness, t.week_start, np.full(fleet.n, block), False)
        blocks[block] = found
        # list() copies the keys in one step (safe if another thread adds a block meanwhile).
        for oldest in list(blocks)[:-_CACHED_BLOCKS]:
            blocks.pop(oldest, None)
    return found


def _pool_members(fleet: Fleet, pool: int) -> np.ndarray:
    """Fleet positions (ascending) of the deployments in a pool, cached on the fleet."""
    members = fleet.cache.get("pool members")
    if members is None:
        order = np.argsort(fleet.traits.pool, kind="stable")
        bounds = np.searchsorted(fleet.traits.pool[order], np.arange(_POOLS + 1))
        members = fleet.cache["pool members"] = [order[a:b] for a, b in pairwise(bounds)]
    return members[pool]


def _in_rows(positions: np.ndarray, rows: tuple[Fleet, int], size: int) -> slice:
    """The part of ascending fleet positions that falls in the rows first .. first + size − 1."""
    low, high = np.searchsorted(positions, (rows[1], rows[1] + size))
    return slice(int(low), int(high))


def _own_in_order(rows: tuple[Fleet, int], window: np.ndarray, block: int) -> tuple[np.ndarray, ...]:
    """_own for pairs that are consecutive fleet positions at one window, from the block's cache."""
    at, start, duration, amplitude, kind = _fleet_block(rows[0], block)
    part = _in_rows(at, rows, window.size)
    at = at[part] - rows[1]
    level = _envelope(window[at] - start[part], duration[part]) * amplitude[part]
    keep = level > 0
    return at[keep], kind[part][keep], level[keep]


def _slice_own(own: tuple[np.ndarray, ...], rows: tuple[Fleet, int], size: int) -> tuple[np.ndarray, ...]:
    """The part of a fleet-wide (at, kind, level) in the rows first .. first + size − 1."""
    part = _in_rows(own[0], rows, size)
    return own[0][part] - rows[1], own[1][part], own[2][part]


def _struck_pool(bits: np.ndarray) -> np.ndarray:
    """The pool a block's incident strikes, or -1 where the block has none."""
    return np.where(slot(bits, 0) < _POOL_THRESHOLD, (slot(bits, 1) * _POOLS) >> SLOT_BITS, -1)


def _pool(
    pool: np.ndarray, window: np.ndarray, block: np.ndarray, rows: tuple[Fleet, int] | None = None
) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of pool incidents of the pairs' blocks."""
    low, high = int(block.min()), int(block.max())
    fleet_key = _FLEET_KEY
    if high - low < 4 * BLOCK_WINDOWS:  # few distinct blocks: decide each once, then gather
        block_bits = hash_counter(fleet_key, _STREAM_POOL, np.arange(low, high + 1))
        struck = _struck_pool(block_bits)
        if not np.any(struck >= 0):  # most blocks: no pool incident anywhere, nothing per pair
            return _NO_INCIDENTS
        if rows is not None:  # consecutive fleet positions at one window: the pool's members
            members = _pool_members(rows[0], int(struck[0]))
            at = members[_in_rows(members, rows, window.size)] - rows[1]
        elif high == low:  # one window: compare with one pool
            at = np.flatnonzero(pool == struck[0])
        else:
            at = np.flatnonzero(pool == struck.take(block - low))
        bits = block_bits.take(block[at] - low)
    else:
        bits = hash_counter(fleet_key, _STREAM_POOL, block)
        at = np.flatnonzero(pool == _struck_pool(bits))
        bits = bits[at]
    duration = _DURATION.take(slot(bits, 3))
    start = (block[at] << BLOCK_BITS) + _offset(slot(bits, 2), duration)
    level = _envelope(window[at] - start, duration) * (0.3 + 0.7 * nibble(bits) / 15)
    keep = level > 0
    return at[keep], _kind(slot(bits[keep], 4), drops=False), level[keep]


def _rollout(key: np.ndarray, age: np.ndarray, candidates: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of incidents shortly after activation (age in windows since it).

    `candidates` may list the pairs worth checking (every pair with a small age among them).
    """
    if candidates is None:
        candidates = np.arange(age.size)
    young = candidates[(age[candidates] >= 0) & (age[candidates] < _ROLLOUT_WINDOWS + 360)]
    if young.size == 0:  # past its first hours: no rollout incident to look up
        return _NO_INCIDENTS
    bits = hash_counter(key[young], _STREAM_ROLLOUT, np.zeros(young.size, dtype=np.int64))
    start = (slot(bits, 1) * _ROLLOUT_WINDOWS) >> SLOT_BITS
    level = _envelope(age[young] - start, _DURATION.take(slot(bits, 2))) * UNIFORM.take(slot(bits, 4))
    keep = (slot(bits, 0) < _ROLLOUT_THRESHOLD) & (level > 0)
    return young[keep], _kind(slot(bits[keep], 3), drops=False), level[keep]


def rollout_traits(key: np.ndarray) -> dict[str, np.ndarray]:
    """Per deployment: its rollout incident (windows after activation it starts, its duration,
    amplitude and kind), drawn once; a duration of 0 where its rollout goes well."""
    bits = hash_counter(key, _STREAM_ROLLOUT, np.zeros(key.shape, dtype=np.int64))
    goes_wrong = slot(bits, 0) < _ROLLOUT_THRESHOLD
    return {
        "rollout_start": (slot(bits, 1) * _ROLLOUT_WINDOWS) >> SLOT_BITS,
        "rollout_duration": np.where(goes_wrong, _DURATION.take(slot(bits, 2)), 0),
        "rollout_amplitude": UNIFORM.take(slot(bits, 4)),
        "rollout_kind": _kind(slot(bits, 3), drops=False),
    }


def rollout_incidents(traits: object, position: np.ndarray, age: np.ndarray, young: np.ndarray) -> tuple:
    """(where, kind, level) of rollout incidents of the pairs `young` (every pair activated less
    than a day before), from the deployments' rollout traits (Traits.rollout_*)."""
    pos = position.take(young)
    offset = age.take(young) - traits.rollout_start.take(pos)
    duration = traits.rollout_duration.take(pos)
    inside = np.flatnonzero((offset >= 0) & (offset < duration))
    if inside.size == 0:
        return _NO_INCIDENTS
    pos = pos.take(inside)
    level = _envelope(offset.take(inside), duration.take(inside)) * traits.rollout_amplitude.take(pos)
    keep = level > 0
    return young.take(inside)[keep], traits.rollout_kind.take(pos)[keep], level[keep]


def incidents(
    key: np.ndarray,
    proneness: np.ndarray,
    pool: np.ndarray,
    week_start: np.ndarray,
    age: np.ndarray,
    window: np.ndarray,
    young: np.ndarray | None = None,
    one_deployment: bool = False,
    rows: tuple[Fleet, int] | None = None,
    terms: WindowTerms | None = None,
    one_window: bool = False,
    runs: np.ndarray | None = None,
    rollout: tuple[np.ndarray, ...] | None = None,
) -> Incidents:
    """Incidents of the pairs (traits gathered per pair, age = windows since activation).

    `young` may list the pairs activated less than a day before (only they can be in a
    rollout's incident), when the caller has them already; `one_deployment` says that
    every pair is the same deployment's (a chart), so blocks can be hashed once each;
    `rows` = (fleet, first) that the pairs are fleet positions first, first + 1, … at one
    window (a fleet-wide pass), so the fleet's cache of the block can answer; `terms` the
    call's window_terms (of windows including these; computed here when not given),
    `one_window` that every pair's window is the same, `runs` where runs of pairs of one
    deployment begin (ascending from 0), when the pairs come in such runs; `rollout` the
    pairs' rollout incidents, when the caller has them from the traits (rollout_incidents).
    """
    if window.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Incidents(empty, empty, np.zeros(0))
    block = window >> BLOCK_BITS
    if terms is None:
        terms = window_terms(int(window.min()), int(window.max()))
    if rows is None and (runs is not None or one_deployment):
        own = _own_runs(key, proneness, week_start, window, block, _FIRST_RUN if runs is None else runs)
    elif rows is None:
        own = _own(key, proneness, week_start, window, block, one_deployment)
    elif terms is not None and terms.own is not None:
        own = _slice_own(terms.own, rows, window.size)
    else:
        own = _own_in_order(rows, window, int(block[0]))
    parts = [
        own,
        _pool(pool, window, block, rows)
        if terms is None
        else _pool_of_table(pool, window, block, terms, rows, one_window),
        _rollout(key, age, young) if rollout is None else rollout,
    ]
    where = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    level = np.concatenate([p[2] for p in parts])
    if where.size == 0:
        return Incidents(where, kind, level)
    # Overlapping incidents: the strongest one of a pair decides its kind and level.
    order = np.lexsort((-level, where))
    where, kind, level = where[order], kind[order], level[order]
    first = np.concatenate(([True], where[1:] != where[:-1]))
    return Incidents(where[first], kind[first], level[first])
