"""Indexes over one fleet snapshot for the listing engine, built on first use and kept with it.

A snapshot never changes (a write makes a new one), so what is derived from it can be kept as
long as it is: the name vocabulary in code-point order, each job's rows, and each ordering's
sorted permutation. Permutations and name matches are many and add up, so those are kept
least-recently-used within a budget; a new snapshot starts empty.
"""

import bisect
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from resolvers.snapshot import Snapshot

T = TypeVar("T")
_KEPT = 32  # sorted permutations and name matches per snapshot
_BUDGET_BYTES = 64 * 2**20  # and at most this much of them (16 orders at 1,000,000 rows)


@dataclass(frozen=True)
class NameIndex:
    ordered: list[str]  # the vocabulary in code-point order
    row_rank: np.ndarray  # each row's name as its position in `ordered`

    def position_of(self, name: str) -> float:
        """Where a cursor's name sorts: its rank, or between its neighbours once no row has it."""
        i = bisect.bisect_left(self.ordered, name)
        return float(i) if i < len(self.ordered) and self.ordered[i] == name else i - 0.5


def _fixed(snap: Snapshot, key: str, build: Callable[[], T]) -> T:
    if key not in snap.indexes:
        snap.indexes[key] = build()
    return snap.indexes[key]  # type: ignore[no-any-return]


def _kept(snap: Snapshot, key: Any, build: Callable[[], np.ndarray]) -> np.ndarray:
    cache = snap.sorted_cache
    if key in cache:
        cache.move_to_end(key)
        return cache[key]  # type: ignore[no-any-return]
    value = cache[key] = build()
    while len(cache) > 1 and (len(cache) > _KEPT or sum(v.nbytes for v in cache.values()) > _BUDGET_BYTES):
        cache.popitem(last=False)
    return value


def names(snap: Snapshot) -> NameIndex:
    def build() -> NameIndex:
        order = sorted(range(len(snap.names)), key=snap.names.__getitem__)  # str order = code points
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        return NameIndex([snap.names[i] for i in order], rank[snap.name_code])

    return _fixed(snap, "names", build)


def name_matches(snap: Snapshot, needle: str) -> np.ndarray:
    """For each name code: does the folded name contain the folded needle."""
    return _kept(snap, ("name", needle), lambda: np.array([needle in f for f in snap.folded], dtype=bool))


def rows_of_job(snap: Snapshot, job_id: int) -> np.ndarray:
    """Positions of one training job's deployments, in id order."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(snap.training_job_id, kind="stable")
        return order, snap.training_job_id[order]

    order, jobs = _fixed(snap, "jobs", build)
    # Both sides of the one value: job_id + 1 would overflow int64 for the largest valid id.
    lo, hi = np.searchsorted(jobs, job_id, "left"), np.searchsorted(jobs, job_id, "right")
    return order[lo:hi]  # type: ignore[no-any-return]


def kept(snap: Snapshot, key: Hashable, build: Callable[[], np.ndarray]) -> np.ndarray:
    """An array derived from the snapshot (e.g. one filter's rows in one order), kept with the others."""
    return _kept(snap, ("derived", key), build)


def sorted_rows(snap: Snapshot, key: Hashable, arrays: Callable[[], list[np.ndarray]]) -> np.ndarray:
    """Every row's position in the ordering named `key` (its comparable `arrays`, first key first)."""
    dtype = np.int32 if snap.n < 2**31 else np.int64

    def build() -> np.ndarray:
        return np.lexsort(tuple(reversed(arrays()))).astype(dtype)

    return _kept(snap, key, build)
