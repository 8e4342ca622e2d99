"""Deployments filtered by health or ordered by a metric: sorted in numpy over the fleet snapshot.

The SQL path cannot order by figures the simulator computes, and loading 100,000 rows per
request to sort them is too slow, so this path filters and sorts the snapshot's arrays, then
fetches only the page's rows. Cursors carry their `asOf`, so page 2 continues the snapshot
of page 1 even after the window rolls over.
"""

import bisect
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from db import deployments, folding, paging
from db.models import DEPLOYMENT_STATUSES, MODEL_SIZES, Deployment
from resolvers.connections import Connection
from resolvers.context import Context
from resolvers.fleet import Snapshot
from resolvers.metrics import HEALTH_NAMES, resolve_as_of, window_of
from resolvers.pagination import PageArgs, encode_cursor, page_request, scope_of

METRIC_FIELDS = {
    "REQUEST_VOLUME": "request_volume",
    "P50_LATENCY": "p50",
    "P95_LATENCY": "p95",
    "P99_LATENCY": "p99",
    "ERROR_RATE": "error_rate",
}
# Every orderable field as keys over snapshot arrays; times are epoch seconds here.
_KEYS: dict[str, tuple[paging.SortKey, ...]] = {
    "CREATED_AT": (paging.SortKey("created_s", float),),
    "UPDATED_AT": (paging.SortKey("updated_s", float),),
    "MODEL_NAME": (paging.SortKey("model_name", str),),
    "VERSION": tuple(paging.SortKey(f"version_{p}", int) for p in ("major", "minor", "patch")),
    "STATUS": (paging.SortKey("status", int),),
    **{field: (paging.SortKey(name, float, nullable=True),) for field, name in METRIC_FIELDS.items()},
}
_ID = paging.SortKey("id", int)


def needs_metrics(order_by: Sequence[tuple[str, bool]], health: Sequence[str] | None) -> bool:
    return health is not None or any(field in METRIC_FIELDS for field, _ in order_by)


def _order(fields: Sequence[tuple[str, bool]]) -> paging.Order:
    keys = [(key, desc) for field, desc in fields for key in _KEYS[field]]
    keys.append((_ID, fields[-1][1]))
    return paging.Order(tuple(keys))


def _mask(
    snap: Snapshot, flt: deployments.DeploymentFilter, health: Sequence[str] | None, window: int
) -> np.ndarray:
    mask = np.ones(snap.n, dtype=bool)
    if flt.statuses is not None:
        mask &= np.isin(snap.status, [DEPLOYMENT_STATUSES.index(s) for s in flt.statuses])
    if flt.model_sizes is not None:
        mask &= np.isin(snap.size, [MODEL_SIZES.index(s) for s in flt.model_sizes])
    if flt.training_job_id is not None:
        mask &= snap.training_job_id == flt.training_job_id
    if flt.ids is not None:
        mask &= np.isin(snap.ids, flt.ids)
    if flt.created_after is not None:
        mask &= snap.created_at >= flt.created_after.timestamp()
    if flt.created_before is not None:
        mask &= snap.created_at < flt.created_before.timestamp()
    if flt.model_name:
        # The same test as SQL's folding.contains: the folded needle within the stored folded name.
        needle = folding.fold(flt.model_name)
        matching = [code for code, name in enumerate(snap.folded) if needle in name]
        mask &= np.isin(snap.name_code, matching)
    if health is not None:
        mask &= np.isin(snap.health(window).code, [HEALTH_NAMES.index(h) for h in health])
    return mask


class _Columns:
    """Raw and ascending-comparable values of each sort key over the snapshot."""

    def __init__(self, snap: Snapshot, order: paging.Order, window: int) -> None:
        self.snap = snap
        self.order = order
        self.name_rank = np.argsort(np.argsort(np.array(snap.names, dtype=object)))
        self.sorted_names = sorted(snap.names)
        metrics = snap.metrics(window) if any(k.nullable for k, _ in order.keys) else None
        self.raw: list[np.ndarray] = []
        for key, _ in order.keys:
            if key.nullable:
                assert metrics is not None
                self.raw.append(getattr(metrics, key.attr))
            else:
                self.raw.append(self._stored(key.attr))
        self.comparable = [
            self._comparable(v, key, desc) for v, (key, desc) in zip(self.raw, order.keys, strict=True)
        ]

    def _stored(self, attr: str) -> np.ndarray:
        s = self.snap
        columns = {
            "created_s": s.created_at,
            "updated_s": s.updated_at,
            "status": s.status.astype(np.int64),
            "version_major": s.version[:, 0],
            "version_minor": s.version[:, 1],
            "version_patch": s.version[:, 2],
            "model_name": s.name_code,
            "id": s.ids,
        }
        return columns[attr]

    def _comparable(self, values: np.ndarray, key: paging.SortKey, desc: bool) -> np.ndarray:
        """Float keys that sort ascending in the requested order, nulls (NaN) last."""
        v = (
            self.name_rank[values].astype(np.float64)
            if key.attr == "model_name"
            else values.astype(np.float64)
        )
        v = -v if desc else v
        return np.where(np.isnan(v), np.inf, v)

    def cursor_comparable(self, values: Sequence[object]) -> list[float]:
        out = []
        for value, (key, desc) in zip(values, self.order.keys, strict=True):
            if value is None:
                out.append(np.inf)
                continue
            if key.attr == "model_name":
                # A name no longer in the fleet sorts between its neighbours.
                i = bisect.bisect_left(self.sorted_names, value)
                exact = i < len(self.sorted_names) and self.sorted_names[i] == value
                number = float(i) if exact else i - 0.5
            else:
                number = float(value)  # type: ignore[arg-type]
            out.append(-number if desc else number)
        return out

    def row_values(self, pos: int) -> tuple[paging.KeyValue, ...]:
        out: list[paging.KeyValue] = []
        for raw, (key, _) in zip(self.raw, self.order.keys, strict=True):
            value = raw[pos]
            if key.attr == "model_name":
                out.append(self.snap.names[int(value)])
            elif key.kind is int:
                out.append(int(value))
            else:
                out.append(None if np.isnan(value) else float(value))
        return tuple(out)


def _beyond(comparable: list[np.ndarray], cursor: list[float], rows: np.ndarray, after: bool) -> np.ndarray:
    """Rows strictly after (or before) the cursor in lexicographic order of the comparable keys."""
    result = np.zeros(len(rows), dtype=bool)
    equal = np.ones(len(rows), dtype=bool)
    for column, value in zip(comparable, cursor, strict=True):
        v = column[rows]
        result |= equal & ((v > value) if after else (v < value))
        equal &= v == value
    return result


async def list_by_metrics(
    ctx: Context,
    *,
    flt: deployments.DeploymentFilter,
    health: Sequence[str] | None,
    fields: Sequence[tuple[str, bool]],
    page_args: PageArgs,
    as_of: datetime | None,
) -> Connection[Deployment]:
    """A page ordered and filtered over the snapshot, with the asOf its figures are for."""
    order = _order(fields)
    scope = scope_of(flt, tuple(health) if health is not None else None)
    page, cursors = page_request(order, page_args, scope)
    pinned = [c.as_of for c in cursors if c.as_of is not None]
    instant = resolve_as_of(ctx.now, as_of if as_of is not None else (pinned[0] if pinned else None))
    snap = await ctx.snapshot()
    window = window_of(instant)
    mask = _mask(snap, flt, health, window)
    columns = _Columns(snap, order, window)
    rows = np.flatnonzero(mask)
    if page.after is not None:
        rows = rows[_beyond(columns.comparable, columns.cursor_comparable(page.after), rows, after=True)]
    if page.before is not None:
        rows = rows[_beyond(columns.comparable, columns.cursor_comparable(page.before), rows, after=False)]
    ranked = rows[np.lexsort(tuple(c[rows] for c in reversed(columns.comparable)))]
    limit = page.last if page.last is not None else page.first
    assert limit is not None
    if page.last is not None:
        chosen, has_previous, has_next = (
            ranked[max(len(ranked) - limit, 0) :],
            len(ranked) > limit,
            page.before is not None,
        )
    else:
        chosen, has_next, has_previous = ranked[:limit], len(ranked) > limit, page.after is not None
    ids = snap.ids[chosen].tolist()
    async with ctx.db.read() as session:
        found = await deployments.get_deployments(session=session, ids=ids)
    # A row deleted since the snapshot was taken drops out of the page.
    kept = [(pos, found[i]) for pos, i in zip(chosen.tolist(), ids, strict=True) if i in found]
    cursors_out = [encode_cursor(order, columns.row_values(pos), instant, scope) for pos, _ in kept]
    total = int(mask.sum())

    async def count() -> int:
        return total

    return Connection([row for _, row in kept], cursors_out, has_next, has_previous, count, instant)


async def count_matching(ctx: Context, flt: deployments.DeploymentFilter) -> int:
    """totalCount from the snapshot: a numpy mask instead of a COUNT over the whole table."""
    snap = await ctx.snapshot()
    return int(_mask(snap, flt, None, 0).sum())
