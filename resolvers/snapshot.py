"""A per-process, columnar copy of the fleet for the simulator, kept current by revision.

Sorting 100,000 deployments by a metric must not load 100,000 ORM objects per request, so
each process keeps what the simulator needs as numpy arrays. Every write to deployments
bumps a revision counter in the database (in the same transaction) and stamps the rows it
touched; a request reads the counter (one tiny query) and, when another request or process
wrote, reloads only the rows stamped after the revision it holds.
"""

import asyncio
import ctypes
import ctypes.util
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from db import fleet_rows
from db.engine import Database
from domain import ACTIVATE, DEPLOY, STATUS_CODE
from resolvers.status_history import statuses_at
from simulator import (
    HEALTH_WINDOWS,
    Fleet,
    Health,
    Metrics,
    Traits,
    combine,
    compute_metrics,
    trailing_mean_volume,
    traits_of,
    window_levels,
)

# The status moves each row dates itself (created_at, activated_at), ahead of the trail's other moves.
assert DEPLOY.target is not None and ACTIVATE.target is not None
_CREATED_AS, _ACTIVATED_AS = STATUS_CODE[DEPLOY.target], STATUS_CODE[ACTIVATE.target]

# Recent windows whose fleet-wide figures stay computed: 10.5 MB each at 100,000 deployments, and
# every page of the current window reads them (resolvers/metrics.py PageFigures).
_WINDOWS_KEPT = 2
# Health needs each rule's level in the last HEALTH_WINDOWS windows; kept a little longer,
# so a poll in the next window computes only that window's figures.
_LEVELS_KEPT = 2 * HEALTH_WINDOWS


# A load of many rows builds Python lists of every row and event on the way to the arrays; glibc
# keeps what they freed (at 100,000 deployments, 36 MB of a 187 MB process) unless asked to give it
# back. Asked after a large load only: a trim costs milliseconds, and a write's reload reads a few rows.
_TRIM_AFTER_ROWS = 10_000
try:
    _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to give back this way
    _malloc_trim = None


def model_key(name: str) -> int:
    """A stable 64-bit key of a model name: the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little", signed=True)


@dataclass
class Snapshot:
    """Live deployments at one revision, sorted by id, as parallel arrays."""

    revision: int
    ids: np.ndarray
    status: np.ndarray
    size: np.ndarray
    training_job_id: np.ndarray
    created_at: np.ndarray
    updated_at: np.ndarray
    activated_at: np.ndarray
    version: np.ndarray  # (n, 3)
    name_code: np.ndarray  # index into names
    names: list[str]  # vocabulary of model names, append-only
    folded: list[str]  # each name's stored folded form (db/folding.py), parallel to names
    timelines: fleet_rows.Timelines
    name_activated: np.ndarray  # each name's first activation (deleted versions too), NaN: none yet
    traits: Traits | None = None  # the simulator's per-deployment traits, when carried over
    fleet: Fleet = field(init=False)
    _metrics: OrderedDict[int, Metrics] = field(init=False, default_factory=OrderedDict)
    _levels: OrderedDict[int, np.ndarray] = field(init=False, default_factory=OrderedDict)
    _health: OrderedDict[int, Health] = field(init=False, default_factory=OrderedDict)
    # What the listing engine derives from this snapshot (resolvers/snapshot_index.py).
    indexes: dict[str, Any] = field(init=False, default_factory=dict, repr=False)
    sorted_cache: OrderedDict[Any, np.ndarray] = field(init=False, default_factory=OrderedDict, repr=False)
    _status_steps: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        init=False, default=None, repr=False
    )

    def __post_init__(self) -> None:
        t = self.timelines
        off_ptr, off = _csr(self.ids, t.pause_owner, t.pause_start)
        share_ptr, share = _csr(self.ids, t.share_owner, t.share_at)
        self.fleet = Fleet(
            ids=self.ids,
            size=self.size,
            activated_at=self.activated_at,
            off_ptr=off_ptr,
            off_start=t.pause_start[off],
            off_end=t.pause_end[off],
            model=np.array([model_key(name) for name in self.names], dtype=np.int64).take(self.name_code),
            share_ptr=share_ptr,
            share_at=t.share_at[share],
            share_value=t.share_value[share],
            model_activated_at=self.name_activated.take(self.name_code),
            traits=self.traits,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Position of each id, or -1 where the id is not a live deployment."""
        if self.n == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), self.n - 1)
        return np.where(self.ids[pos] == ids, pos, -1)

    def statuses_at(self, at: float) -> np.ndarray:
        """Every deployment's status code at `at` (epoch s), rebuilt from its trail as `statusAt` is
        (resolvers/status_history.py); NOT_YET for one created after `at`."""
        return statuses_at(self.created_at, self.status, *self._steps_of_status(), at)

    def _steps_of_status(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each deployment's status steps, in the order of its trail: DEPLOY at its creation, ACTIVATE
        at its activation (the row dates both), then the timelines' moves; sorted once per snapshot."""
        if self._status_steps is None:
            t = self.timelines
            activated = np.flatnonzero(~np.isnan(self.activated_at))
            owner = np.concatenate((np.arange(self.n), activated, np.searchsorted(self.ids, t.status_owner)))
            at = np.concatenate((self.created_at, self.activated_at[activated], t.status_at))
            code = np.concatenate(
                (
                    np.full(self.n, _CREATED_AS, dtype=np.int8),
                    np.full(activated.size, _ACTIVATED_AS, dtype=np.int8),
                    t.status_code,
                )
            )
            # Ties in time keep the trail's order: creation, activation, then the moves as loaded.
            order = np.lexsort((np.arange(owner.size), at, owner))
            self._status_steps = (owner[order], at[order], code[order])
        return self._status_steps

    def metrics(self, window: int) -> Metrics:
        """Every deployment's figures for one window, computed once per window."""
        if window not in self._metrics:
            self._metrics[window] = compute_metrics(
                self.fleet, np.arange(self.n), np.full(self.n, window, dtype=np.int64)
            )
            while len(self._metrics) > _WINDOWS_KEPT:
                self._metrics.popitem(last=False)
        return self._metrics[window]

    def cached_metrics(self, window: int) -> Metrics | None:
        return self._metrics.get(window)

    def _window_levels(self, window: int, trailing: np.ndarray | None = None) -> np.ndarray:
        """Every deployment's raw rule levels in one window, computed once per window."""
        if window not in self._levels:
            if window in self._metrics:
                m = self._metrics[window]
            else:  # an earlier window of a health run: its figures are not kept
                m = compute_metrics(self.fleet, np.arange(self.n), np.full(self.n, window, dtype=np.int64))
            self._levels[window] = window_levels(self.fleet, np.arange(self.n), m, trailing)
            while len(self._levels) > _LEVELS_KEPT:
                self._levels.popitem(last=False)
        return self._levels[window]

    def cached_health(self, window: int) -> Health | None:
        return self._health.get(window)

    def health(self, window: int) -> Health:
        """Every deployment's health for one window (from the run of windows ending there)."""
        if window not in self._health:
            current = self.metrics(window)
            trailing = trailing_mean_volume(self.fleet, np.arange(self.n), np.int64(window))
            earlier = [self._window_levels(w) for w in range(window - HEALTH_WINDOWS + 1, window)]
            run = np.stack([*earlier, self._window_levels(window, trailing)])
            self._health[window] = combine(run, current.serving, trailing)
            while len(self._health) > _WINDOWS_KEPT:
                self._health.popitem(last=False)
        return self._health[window]


def _csr(ids: np.ndarray, owner_ids: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointers of each id's entries (owned by owner_ids) and the order that groups them, by time."""
    owner = np.searchsorted(ids, owner_ids)
    counts = np.bincount(owner, minlength=len(ids))
    return np.concatenate(([0], np.cumsum(counts))), np.lexsort((at, owner))


def _empty_snapshot() -> Snapshot:
    i64, f64, i8 = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8)
    return Snapshot(
        revision=-1,
        ids=i64,
        status=i8,
        size=i8,
        training_job_id=i64,
        created_at=f64,
        updated_at=f64,
        activated_at=f64,
        version=np.zeros((0, 3), np.int64),
        name_code=np.zeros(0, np.int32),
        names=[],
        folded=[],
        timelines=fleet_rows.Timelines.empty(),
        name_activated=f64,
    )


def _merge(old: Snapshot, rows: fleet_rows.FleetRows, revision: int) -> Snapshot:
    """`old` with the changed rows replaced (or dropped when deleted), still sorted by id."""
    keep = ~np.isin(old.ids, rows.ids)
    live = ~rows.deleted
    names, folded = list(old.names), list(old.folded)
    vocabulary = {name: i for i, name in enumerate(names)}
    for name, name_folded in zip(rows.model_name, rows.model_name_folded, strict=True):
        if name not in vocabulary:
            vocabulary[name] = len(names)
            names.append(name)
            folded.append(name_folded)
    new_codes = np.array([vocabulary[name] for name in rows.model_name], dtype=np.int32)
    # A model's traffic starts at its first version's activation, deleted versions included.
    name_activated = np.concatenate((old.name_activated, np.full(len(names) - len(old.names), np.nan)))
    np.fmin.at(name_activated, new_codes, rows.activated_at)

    def join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate((a[keep], b[live]))

    ids = join(old.ids, rows.ids)
    order = np.argsort(ids, kind="stable")
    # Traits hash each id: keep the unchanged rows' and derive only the changed rows'.
    changed = traits_of(
        rows.ids, rows.size, np.array([model_key(name) for name in rows.model_name], dtype=np.int64)
    )
    merged = Traits(
        **{
            f.name: join(getattr(old.fleet.traits, f.name), getattr(changed, f.name))[order]
            for f in fields(Traits)
        }
    )
    return Snapshot(
        revision=revision,
        ids=ids[order],
        status=join(old.status, rows.status)[order],
        size=join(old.size, rows.size)[order],
        training_job_id=join(old.training_job_id, rows.training_job_id)[order],
        created_at=join(old.created_at, rows.created_at)[order],
        updated_at=join(old.updated_at, rows.updated_at)[order],
        activated_at=join(old.activated_at, rows.activated_at)[order],
        version=join(old.version, rows.version)[order],
        name_code=join(old.name_code, new_codes)[order],
        names=names,
        folded=folded,
        timelines=old.timelines.merged(rows.timelines, rows.ids, rows.ids[live]),
        name_activated=name_activated,
        traits=merged,
    )


class FleetCache:
    """The process's current Snapshot; refreshed incrementally when the revision moves."""

    def __init__(self) -> None:
        self._snapshot = _empty_snapshot()
        self._lock = asyncio.Lock()
        self.reloads = 0  # snapshot refreshes (the first load included), for /metrics

    @property
    def size(self) -> int:
        """Deployments in the latest snapshot: what a fleet-wide pass costs (no database read)."""
        return self._snapshot.n

    async def current(self, db: Database, revision: int | None = None) -> Snapshot:
        """The snapshot at the database's revision: `revision` when the caller just read it, else read now."""
        if revision is None:
            async with db.read(one_statement=True) as session:
                revision = await fleet_rows.revision(session)
        if revision == self._snapshot.revision:
            return self._snapshot
        async with self._lock:
            held = self._snapshot
            if revision > held.revision:
                async with db.read() as session:
                    # Re-read inside the session so the rows and the revision agree.
                    revision = await fleet_rows.revision(session)
                    rows = await fleet_rows.changed_since(session, held.revision)
                self._snapshot = _merge(held, rows, revision)
                self.reloads += 1
                if _malloc_trim is not None and len(rows.ids) >= _TRIM_AFTER_ROWS:
                    _malloc_trim(0)
            return self._snapshot
