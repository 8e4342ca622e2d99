"""Pool incidents: a GPU pool's incidents hit every deployment of the pool at once.

About 0.015 per pool-day, at most one per 512-window block across the fleet; decided by
one hash per block of the fleet's own stream, so a call decides its blocks once
(window_terms) and every chunk of its pairs reads them.
"""

from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np

from ._random import LEVELS, SLOT_BITS, deployment_key, hash_counter, nibble, slot
from .episodes import (
    BLOCK_BITS,
    BLOCK_WINDOWS,
    DURATIONS,
    NO_INCIDENTS,
    envelope,
    in_rows,
    kind_of,
    run_pairs,
    start_offset,
)
from .fleet import Fleet
from .profile import POOLS_PER_SIZE
from .traffic import MINUTES_PER_DAY

POOL_PER_DAY = 0.015
_POOLS = 3 * POOLS_PER_SIZE
# At most one pool incident per block across the fleet: the chance that some pool has one.
_POOL_THRESHOLD = round(POOL_PER_DAY * _POOLS * BLOCK_WINDOWS / MINUTES_PER_DAY * LEVELS)
_STREAM_POOL = 0x1C1DF
_FLEET_KEY = deployment_key(np.array([_STREAM_POOL]))  # pool incidents are the fleet's stream


_TABLE_BLOCKS = 1 << 12  # calls spanning fewer blocks (~4 years) read pool incidents from tables


@dataclass(frozen=True)
class WindowTerms:
    """Incident terms that depend on the window alone, per block from first_block on.

    Computed once per compute_metrics call (not per chunk of pairs): a pool incident hits
    every member of one pool alike, so it is a function of the block and the window. A
    block's incident details are read off its hash when first asked for: a chart of one
    deployment whose pool none of its blocks strikes asks for none.
    """

    first_block: int
    pool: np.ndarray | None  # int64 per block: the pool struck (-1: none); None: no pool incident
    bits: np.ndarray | None  # int64 per block: its hash, None with pool
    own: tuple[np.ndarray, ...] | None = None  # (at, kind, level) of a fleet-wide one-window call

    def _bits(self) -> np.ndarray:
        assert self.bits is not None, "no pool incident in these blocks: nothing to describe"
        return self.bits

    @cached_property
    def duration(self) -> np.ndarray:
        """int64 per block: its incident's duration in windows."""
        return DURATIONS.take(slot(self._bits(), 3))

    @cached_property
    def start(self) -> np.ndarray:
        """int64 per block: the window its incident starts in."""
        bits = self._bits()
        blocks = np.arange(self.first_block, self.first_block + bits.size)
        return (blocks << BLOCK_BITS) + start_offset(slot(bits, 2), self.duration)

    @cached_property
    def amplitude(self) -> np.ndarray:
        """float64 per block: its incident's strength."""
        return 0.3 + 0.7 * nibble(self._bits()) / 15

    @cached_property
    def kind(self) -> np.ndarray:
        """int64 per block: its incident's kind (no traffic drops)."""
        return kind_of(slot(self._bits(), 4), drops=False)


def window_terms(low: int, high: int, own: tuple[np.ndarray, ...] | None = None) -> WindowTerms | None:
    """The pool incidents of the blocks of windows low .. high (None: too many blocks).

    `own`: for a call that is a whole fleet (positions in order) at the one window low, its
    own incidents there, found once (incidents.own_at) and kept with the terms.
    """
    first, last = low >> BLOCK_BITS, high >> BLOCK_BITS
    if last - first >= _TABLE_BLOCKS:
        return None
    bits = hash_counter(_FLEET_KEY, _STREAM_POOL, np.arange(first, last + 1))
    pool = _struck_pool(bits)
    if not (pool >= 0).any():  # most blocks: no pool incident anywhere
        return WindowTerms(first, None, None, own)
    return WindowTerms(first, pool, bits, own)


def _pool_of_table(
    pool: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    terms: WindowTerms,
    rows: tuple[Fleet, int] | None,
    one_window: bool,
    one_deployment: bool = False,
) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of pool incidents, from the call's per-block terms
    (`one_deployment`: every pair is one deployment's, so all are in one pool)."""
    if terms.pool is None:
        return NO_INCIDENTS
    if one_window:  # one level for the whole pool
        b = int(block[0]) - terms.first_block
        struck = int(terms.pool[b])
        level = float(envelope(window[:1] - terms.start[b], terms.duration[b])[0] * terms.amplitude[b])
        if struck < 0 or not level > 0:
            return NO_INCIDENTS
        if rows is not None:  # consecutive fleet positions: the pool's members among them
            members = _pool_members(rows[0], struck)
            at = members[in_rows(members, rows, window.size)] - rows[1]
        else:
            at = (pool == struck).nonzero()[0]
        return at, np.full(at.size, int(terms.kind[b]), dtype=np.int64), np.full(at.size, level)
    if one_deployment:  # the blocks that strike its pool, often none: then no pass per pair
        struck = terms.pool == pool[0]
        if not struck.any():
            return NO_INCIDENTS
        offset = block - terms.first_block
        at = struck.take(offset).nonzero()[0]
    else:
        offset = block - terms.first_block
        at = (pool == terms.pool.take(offset)).nonzero()[0]
    b = offset.take(at)
    return _inside(terms, window, at, b)


def _pool_of_segments(
    pool: np.ndarray,
    window: np.ndarray,
    block: np.ndarray,
    terms: WindowTerms,
    segments: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """_pool_of_table for pairs in runs of one (deployment, block) (`segments`: their starts and
    lengths): each run's pool and block tested once, not each pair's (a block of deployments x
    windows has a few runs per deployment)."""
    if terms.pool is None:
        return NO_INCIDENTS
    starts, lengths = segments
    offset = block.take(starts) - terms.first_block
    hit = (pool.take(starts) == terms.pool.take(offset)).nonzero()[0]
    if hit.size == 0:
        return NO_INCIDENTS
    counts = lengths.take(hit)
    at = run_pairs(starts.take(hit), counts)
    b = np.repeat(offset.take(hit), counts)
    return _inside(terms, window, at, b)


def _inside(terms: WindowTerms, window: np.ndarray, at: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """(at, kind, level) of the pairs `at` whose pool the incident of block b (from first_block)
    strikes, kept where their window lies inside that incident."""
    level = envelope(window.take(at) - terms.start.take(b), terms.duration.take(b)) * terms.amplitude.take(b)
    keep = level > 0
    return at[keep], terms.kind.take(b[keep]), level[keep]


def _pool_members(fleet: Fleet, pool: int) -> np.ndarray:
    """Fleet positions (ascending) of the deployments in a pool, cached on the fleet."""
    members = fleet.cache.get("pool members")
    if members is None:
        order = np.argsort(fleet.traits.pool, kind="stable")
        bounds = np.searchsorted(fleet.traits.pool[order], np.arange(_POOLS + 1))
        members = fleet.cache["pool members"] = [order[a:b] for a, b in pairwise(bounds)]
    return members[pool]


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
            return NO_INCIDENTS
        if rows is not None:  # consecutive fleet positions at one window: the pool's members
            members = _pool_members(rows[0], int(struck[0]))
            at = members[in_rows(members, rows, window.size)] - rows[1]
        elif high == low:  # one window: compare with one pool
            at = (pool == struck[0]).nonzero()[0]
        else:
            at = (pool == struck.take(block - low)).nonzero()[0]
        bits = block_bits.take(block[at] - low)
    else:
        bits = hash_counter(fleet_key, _STREAM_POOL, block)
        at = (pool == _struck_pool(bits)).nonzero()[0]
        bits = bits[at]
    duration = DURATIONS.take(slot(bits, 3))
    start = (block[at] << BLOCK_BITS) + start_offset(slot(bits, 2), duration)
    level = envelope(window[at] - start, duration) * (0.3 + 0.7 * nibble(bits) / 15)
    keep = level > 0
    return at[keep], kind_of(slot(bits[keep], 4), drops=False), level[keep]


pool, pool_of_table, pool_of_segments = _pool, _pool_of_table, _pool_of_segments  # for simulator/incidents.py
