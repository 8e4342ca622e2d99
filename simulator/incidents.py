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

import numpy as np

from ._random import LEVELS, UNIFORM, hash_counter, slot
from .episodes import (
    BLOCK_BITS,
    BLOCK_WINDOWS,
    DURATIONS,
    ERRORS,
    NO_INCIDENTS,
    NONE,
    ROLLOUT_SHARE,
    SLOWDOWN,
    TRAFFIC_DROP,
    envelope,
    in_rows,
    kind_of,
    run_pairs,
    start_offset,
)
from .episodes import rollout as rollout_per_pair
from .fleet import Fleet
from .pools import POOL_PER_DAY, WindowTerms, pool_of_segments, pool_of_table, window_terms
from .pools import pool as pool_per_pair
from .traffic import MINUTES_PER_DAY, load_factor

__all__ = ["BLOCK_BITS", "ERRORS", "NONE", "POOL_PER_DAY", "ROLLOUT_SHARE", "SLOWDOWN", "TRAFFIC_DROP"]
__all__ += ["Incidents", "WindowTerms", "incidents", "own_at", "window_terms"]

OWN_PER_DAY = 0.05
_PEAK_BOOST_MAX = 2.5  # the load factor at the start (to the power 1.5) scales the chance, capped here
_OWN_MAX = OWN_PER_DAY * BLOCK_WINDOWS / MINUTES_PER_DAY * _PEAK_BOOST_MAX * LEVELS
_STREAM_OWN = 0x1C1DE


@dataclass(frozen=True)
class Incidents:
    """The pairs inside an incident (sparse, unique positions) and how hard each is hit."""

    where: np.ndarray  # int64 positions into the batch of pairs
    kind: np.ndarray  # int64 ERRORS, SLOWDOWN or TRAFFIC_DROP (the strongest, if several)
    level: np.ndarray  # float64 in (0, 1]: severity × the ramp of onset and recovery


_CACHED_BLOCKS = 4  # blocks of own incidents a fleet keeps: the current one and a few before


def own_at(fleet: Fleet, window: int) -> tuple[np.ndarray, ...]:
    """(at, kind, level) of the fleet's own incidents at one window (at: ascending positions)."""
    at, start, duration, amplitude, kind = _fleet_block(fleet, window >> BLOCK_BITS)
    level = envelope(window - start, duration) * amplitude
    keep = (level > 0).nonzero()[0]
    return at[keep], kind[keep], level[keep]


def _own_starts(
    key: np.ndarray, proneness: np.ndarray, week_start: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, ...]:
    """(where, start, duration, amplitude, kind) of the own incidents of the pairs' blocks."""
    bits = hash_counter(key, _STREAM_OWN, block)
    draw = slot(bits, 0)
    at = (draw < _OWN_MAX * proneness).nonzero()[0]
    bits = bits[at]
    duration = DURATIONS.take(slot(bits, 2))
    start = (block[at] << BLOCK_BITS) + start_offset(slot(bits, 1), duration)
    boost = np.minimum(load_factor(week_start[at], start) ** 1.5, _PEAK_BOOST_MAX)
    accepted = (draw[at] < _OWN_MAX * proneness[at] * boost / _PEAK_BOOST_MAX).nonzero()[0]
    bits = bits[accepted]
    amplitude = UNIFORM.take(slot(bits, 4))
    return at[accepted], start[accepted], duration[accepted], amplitude, kind_of(slot(bits, 3))


def _own(
    key: np.ndarray,
    proneness: np.ndarray,
    week_start: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of the pairs' own incidents (of their blocks)."""
    at, start, duration, amplitude, kind = _own_starts(key, proneness, week_start, block)
    level = envelope(window[at] - start, duration) * amplitude
    keep = level > 0
    return at[keep], kind[keep], level[keep]


def _own_of_one(
    key: np.ndarray, proneness: np.ndarray, week_start: np.ndarray, window: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, ...] | None:
    """_own for pairs that are all one deployment's (a chart): each block its windows span hashed
    once, and only the pairs of the few blocks with an incident looked at (a 30-day chart's 1,800
    windows span ~85 blocks, and about one has an incident). None when they span more blocks
    than there are pairs (pair by pair is cheaper then)."""
    low, high = int(block.min()), int(block.max())
    if high - low >= block.size:
        return None
    blocks = np.arange(low, high + 1)
    first = np.zeros(blocks.size, dtype=np.intp)  # the deployment's traits, once per block
    hit, start, duration, amplitude, kind = _own_starts(
        key.take(first), proneness.take(first), week_start.take(first), blocks
    )
    if hit.size == 0:
        return NO_INCIDENTS
    # Each pair's incident (an index into hit), or −1 in a block without one.
    incident_of = np.full(blocks.size, -1, dtype=np.intp)
    incident_of[hit] = np.arange(hit.size)
    which = incident_of.take(block - low)
    at = (which >= 0).nonzero()[0]
    which = which.take(at)
    level = envelope(window.take(at) - start.take(which), duration.take(which)) * amplitude.take(which)
    keep = level > 0
    return at[keep], kind.take(which)[keep], level[keep]


def _segments(block: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(starts, lengths) of the runs of pairs of one deployment in one block, given the runs of
    one deployment (`runs`: where they begin); None when the windows are out of order (short
    runs: pair by pair is cheaper)."""
    block_change = (block[1:] != block[:-1]).nonzero()[0] + 1
    if block_change.size * 8 > block.size:
        return None
    if not block_change.size:
        starts = runs
    else:  # np.union1d without its Python layer (a quarter of its cost at these sizes)
        starts = np.concatenate((runs, block_change))
        starts.sort()
        starts = starts[np.concatenate(([True], starts[1:] != starts[:-1]))]
    lengths = np.concatenate((starts[1:], [block.size]))  # np.diff(append=) costs 5x in Python
    lengths -= starts
    return starts, lengths


def _own_runs(
    key: np.ndarray,
    proneness: np.ndarray,
    week_start: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    segments: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """_own for pairs in runs of one (deployment, block) (_segments): each run hashed once.

    Own incidents are a function of the deployment and the block, so a run's pairs share
    its draws; only the pairs of the few runs with an incident are looked at one by one.
    """
    starts, lengths = segments
    hit, start, duration, amplitude, kind = _own_starts(
        key.take(starts), proneness.take(starts), week_start.take(starts), block.take(starts)
    )
    if hit.size == 0:
        return NO_INCIDENTS
    # The pairs of the runs hit: each run's range of pairs, concatenated.
    counts = lengths.take(hit)
    at = run_pairs(starts.take(hit), counts)
    level = envelope(window.take(at) - np.repeat(start, counts), np.repeat(duration, counts))
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
        found = _own_starts(t.key, t.proneness, t.week_start, np.full(fleet.n, block))
        for column in found:  # kept across calls: a reader writing into it would change later calls
            column.flags.writeable = False
        blocks[block] = found
        # list() copies the keys in one step (safe if another thread adds a block meanwhile).
        for oldest in list(blocks)[:-_CACHED_BLOCKS]:
            blocks.pop(oldest, None)
    return found


def _own_in_order(rows: tuple[Fleet, int], window: np.ndarray, block: int) -> tuple[np.ndarray, ...]:
    """_own for pairs that are consecutive fleet positions at one window, from the block's cache."""
    at, start, duration, amplitude, kind = _fleet_block(rows[0], block)
    part = in_rows(at, rows, window.size)
    at = at[part] - rows[1]
    level = envelope(window[at] - start[part], duration[part]) * amplitude[part]
    keep = level > 0
    return at[keep], kind[part][keep], level[keep]


def _slice_own(own: tuple[np.ndarray, ...], rows: tuple[Fleet, int], size: int) -> tuple[np.ndarray, ...]:
    """The part of a fleet-wide (at, kind, level) in the rows first .. first + size − 1."""
    part = in_rows(own[0], rows, size)
    return own[0][part] - rows[1], own[1][part], own[2][part]


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
    segments = _segments(block, runs) if rows is None and runs is not None else None
    if one_deployment and (one := _own_of_one(key, proneness, week_start, window, block)) is not None:
        own = one
    elif segments is not None:
        own = _own_runs(key, proneness, week_start, window, block, segments)
    elif rows is None:
        own = _own(key, proneness, week_start, window, block)
    elif terms is not None and terms.own is not None:
        own = _slice_own(terms.own, rows, window.size)
    else:
        own = _own_in_order(rows, window, int(block[0]))
    parts = [
        own,
        pool_per_pair(pool, window, block, rows)
        if terms is None
        else pool_of_segments(pool, window, block, terms, segments)
        if segments is not None and runs is not None and not one_window
        else pool_of_table(pool, window, block, terms, rows, one_window, one_deployment),
        rollout_per_pair(key, age, young) if rollout is None else rollout,
    ]
    found = [p for p in parts if p[0].size]
    if len(found) <= 1:
        # Each source lists a pair at most once, in ascending order (its positions come from
        # flatnonzero or ascending runs): alone, it is already what the merge below would give.
        return Incidents(*(found[0] if found else NO_INCIDENTS))
    where = np.concatenate([p[0] for p in found])
    kind = np.concatenate([p[1] for p in found])
    level = np.concatenate([p[2] for p in found])
    # Overlapping incidents: the strongest one of a pair decides its kind and level.
    order = np.lexsort((-level, where))
    where, kind, level = where[order], kind[order], level[order]
    first = np.concatenate(([True], where[1:] != where[:-1]))
    return Incidents(where[first], kind[first], level[first])
