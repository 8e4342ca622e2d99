"""The deployments listing engine: every filter and ordering, one mechanism, over the fleet snapshot.

Every live deployment is in the process's snapshot (resolvers/snapshot.py), so a filter is a boolean
mask over its arrays and an ordering is a tuple of numeric columns, each declared once
(resolvers/listing_keys.py), whether it is stored (CREATED_AT) or computed by the simulator
(P95_LATENCY). A page is cut from the order's sorted permutation, computed once per snapshot (and
window, for metric orders) and cached: the cursor's values are bisected into it, rows outside the
mask are skipped, and SQL then fetches only the page's rows by primary key. No query sorts the table
(PITFALLS: SQLite sorted 85,000 rows in a temp B-tree for a status filter), and totalCount is the
same mask's sum, so it is always the number of rows the pages hold.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from db import folding
from db.paging import KeyValue, PageRequest
from domain import DEPLOYMENT_STATUSES, MODEL_SIZES, STATUS_CODE
from resolvers import snapshot_index
from resolvers.listing_keys import Columns, Keys, Ordering, SortedView
from resolvers.metric_records import HEALTH_NAMES
from resolvers.snapshot import Snapshot


@dataclass(frozen=True)
class DeploymentFilter:
    """Deployments matching every condition given; None means "any"."""

    statuses: tuple[str, ...] | None = None
    model_name: str | None = None  # case-folded substring (db/folding.py)
    training_job_id: int | None = None
    model_sizes: tuple[str, ...] | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    health: tuple[str, ...] | None = None  # at the connection's asOf

    @property
    def needs_window(self) -> bool:
        return self.health is not None


@dataclass
class ListingPage:
    positions: np.ndarray  # snapshot positions of the page's rows, in order
    keys: Sequence[tuple[KeyValue, ...]]  # each row's cursor values (made when read)
    has_next: bool
    has_previous: bool
    total: int  # rows matching the filter, over all pages


def _lookup(codes: Sequence[int], size: int) -> np.ndarray:
    table = np.zeros(size, dtype=bool)
    table[list(codes)] = True
    return table


def matching(
    snap: Snapshot, flt: DeploymentFilter, window: int | None, rows: np.ndarray | None
) -> np.ndarray:
    """Which of `rows` (positions; None: every row) match the filter: one boolean each."""

    def col(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    mask = np.ones(snap.n if rows is None else len(rows), dtype=bool)
    if flt.statuses is not None:
        codes = [STATUS_CODE[s] for s in flt.statuses]
        mask &= _lookup(codes, len(DEPLOYMENT_STATUSES))[col(snap.status)]
    if flt.model_sizes is not None:
        mask &= _lookup([MODEL_SIZES.index(s) for s in flt.model_sizes], len(MODEL_SIZES))[col(snap.size)]
    if flt.training_job_id is not None:
        mask &= col(snap.training_job_id) == flt.training_job_id
    if flt.created_after is not None:
        mask &= col(snap.created_at) >= flt.created_after.timestamp()
    if flt.created_before is not None:
        mask &= col(snap.created_at) < flt.created_before.timestamp()
    if flt.model_name:
        # The folded needle within each name's stored folded form: the one definition of a match.
        mask &= snapshot_index.name_matches(snap, folding.fold(flt.model_name))[col(snap.name_code)]
    if flt.health is not None:
        assert window is not None, "a health filter is resolved with its window"
        codes = snap.health(window).code
        mask &= _lookup([HEALTH_NAMES.index(h) for h in flt.health], len(HEALTH_NAMES))[col(codes)]
    return mask


_NO_FILTER = DeploymentFilter()


def _by_codes_only(flt: DeploymentFilter) -> bool:
    """Only statuses and/or model sizes (the filters with a handful of possible values) are set."""
    return (flt.statuses is not None or flt.model_sizes is not None) and flt == DeploymentFilter(
        statuses=flt.statuses, model_sizes=flt.model_sizes
    )


def _as_set(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(sorted(set(values)))  # ACTIVE,PAUSED is PAUSED,ACTIVE


def _candidates(
    snap: Snapshot, flt: DeploymentFilter, job_id: int | None, within: np.ndarray | None
) -> np.ndarray | None:
    """A job's rows when the listing is limited to one job, or the rows it is limited to (`within`, e.g. a
    model's versions): few rows, sorted per request."""
    jobs = {j for j in (flt.training_job_id, job_id) if j is not None}
    if not jobs:
        return within
    if len(jobs) > 1:
        return np.zeros(0, dtype=np.int64)  # two different jobs: nothing matches
    rows = snapshot_index.rows_of_job(snap, jobs.pop())
    return rows if within is None else np.intersect1d(rows, within)


def page(
    snap: Snapshot,
    flt: DeploymentFilter,
    ordering: Ordering,
    request: PageRequest,
    window: int | None,
    job_id: int | None = None,
    within: np.ndarray | None = None,
) -> ListingPage:
    """One page of the listing over `snap` (`window`: the metrics window for metric orders and
    health filters); `job_id` limits it to one training job's deployments, `within` to these rows."""
    metrics = snap.metrics(window) if ordering.needs_window and window is not None else None
    columns = Columns(snap, ordering, metrics)
    rows = _candidates(snap, flt, job_id, within)
    keep: np.ndarray | None
    if rows is not None:
        rows = rows[matching(snap, flt, window, rows)]
        seq = rows[np.lexsort(tuple(reversed(columns.arrays(rows))))]
        keep, total = None, len(rows)
    else:
        key = (ordering.cursor_order.signature, window if ordering.needs_window else None)
        seq = snapshot_index.sorted_rows(snap, key, lambda: columns.arrays(None))
        if _by_codes_only(flt):
            # A status or size filter has few distinct values: its sorted matches are kept with the
            # snapshot like the ordering, instead of masking and gathering every row per request
            # (work over the whole fleet that an unfiltered page does not do).
            every = seq
            seq = snapshot_index.kept(
                snap,
                (key, _as_set(flt.statuses), _as_set(flt.model_sizes)),
                lambda: every[matching(snap, flt, window, every)],
            )
            keep, total = None, len(seq)
        elif flt == _NO_FILTER:
            keep, total = None, len(seq)  # no mask over the whole fleet for a page of every row
        else:
            keep = matching(snap, flt, window, None)
            total = int(keep.sum())
    view = SortedView(seq, columns)
    lo = bisect.bisect_right(view, columns.cursor(request.after)) if request.after is not None else 0
    hi = bisect.bisect_left(view, columns.cursor(request.before)) if request.before is not None else len(seq)
    between = seq[lo : max(lo, hi)]
    if keep is not None:
        between = between[keep[between]]
    chosen, has_next, has_previous = request.cut(between)
    return ListingPage(chosen, Keys(columns, chosen), has_next, has_previous, total)
