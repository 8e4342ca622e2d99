"""Models: a model name, its versions and its figures; the models connection over the fleet snapshot.

A model is every deployment of one model name. Its global ID is its first version's row id (rows are
soft-deleted and ids never reused, so it never changes); its size is its newest live version's. A
model is listed, and found, while any of its versions is live.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from db import aliases as alias_rows
from db import endpoints, folding, releases
from db.deployments import DeploymentView
from db.models import Deployment, ModelAlias
from db.paging import Order, SortKey
from domain import MODEL_SIZES, DeploymentStatus
from resolvers import deployments, ids, snapshot_index, traffic
from resolvers.arguments import name_filter, tuple_or_none
from resolvers.context import Context
from resolvers.metric_records import MetricsRecord, SeriesRecord, resolve_as_of, window_of
from resolvers.metrics import model_history, model_metrics
from resolvers.pagination import (
    Connection,
    Listing,
    encode_cursor,
    order_fields,
    page_request,
    scope_of,
)
from resolvers.snapshot import Snapshot

TYPE_NAME = "Model"
_NAME = SortKey("name", str)
_KEYS = {"NAME": _NAME, "REQUEST_VOLUME": SortKey("request_volume", float)}


@dataclass(frozen=True)
class ModelRecord:
    name: str
    first_id: int
    model_size: str
    endpoint: str  # /api/inference/<model-slug>: routes by the traffic split

    @classmethod
    def of(cls, facts: releases.ModelFacts) -> "ModelRecord":
        return cls(facts.name, facts.first_id, facts.model_size, endpoints.PREFIX + facts.slug)


@dataclass(frozen=True)
class ModelFilter:
    name: str | None = None  # case-folded substring (db/folding.py), as deployments' modelName filter
    model_sizes: tuple[str, ...] | None = None


Models = Listing[ModelFilter]  # what the models connection asks for


def model_filter(*, name: str | None = None, model_sizes: Sequence[str] | None = None) -> ModelFilter:
    return ModelFilter(name=name_filter(name), model_sizes=tuple_or_none(model_sizes))


@dataclass(frozen=True)
class _Table:
    """Per name code of a snapshot: whether the model has live versions, and its newest one's size."""

    live: np.ndarray  # bool
    size: np.ndarray  # int8 code, -1 without live versions


def _table(snap: Snapshot) -> _Table:
    if "models" not in snap.indexes:
        count = len(snap.names)
        codes = snap.name_code.astype(np.int64)
        live = np.bincount(codes, minlength=count) > 0
        size = np.full(count, -1, dtype=np.int8)
        if snap.n:
            order = np.lexsort((snap.version[:, 2], snap.version[:, 1], snap.version[:, 0], codes))
            ordered = codes[order]
            newest = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
            size[ordered[newest]] = snap.size[order[newest]]
        snap.indexes["models"] = _Table(live, size)
    return snap.indexes["models"]  # type: ignore[no-any-return]


async def _records(ctx: Context, names: Sequence[str]) -> dict[str, ModelRecord]:
    """The models of these names that have a live version (through the loader: one query for a page)."""
    found = await ctx.loaders.model.load_many(list(names))
    return {facts.name: ModelRecord.of(facts) for facts in found if facts is not None and facts.live}


MAX_NAME = 100  # model names are 1-100 printable characters (resolvers/training_input.py)


def could_be_a_name(name: str) -> bool:
    """Whether a model may have this name: anything else is no model's (and PostgreSQL refuses NUL)."""
    return 0 < len(name) <= MAX_NAME and name.isprintable()


async def get_model(ctx: Context, name: str) -> ModelRecord | None:
    if not could_be_a_name(name):
        return None
    return (await _records(ctx, [name])).get(name)


async def model_of(ctx: Context, row: Deployment | DeploymentView) -> ModelRecord:
    """The model a deployment is a version of (even when it was deleted since it was loaded)."""
    facts = await ctx.loaders.model.load(row.model_name)
    assert facts is not None, "a deployment's own rows make its model"
    return ModelRecord.of(facts)


async def model_by_id(ctx: Context, row_id: int) -> ModelRecord | None:
    """The model whose global ID holds `row_id`: its first version's id."""
    async with ctx.db.read() as session:
        name = await releases.model_name_of(session=session, deployment_id=row_id)
        found = await releases.models_named(session=session, names=[name] if name else [])
    facts = found.get(name) if name else None
    return ModelRecord.of(facts) if facts and facts.live and facts.first_id == row_id else None


async def list_models(ctx: Context, args: Models) -> Connection[ModelRecord]:
    flt = args.flt
    fields = order_fields(args.order_by, ("NAME", False))
    keys = [(_KEYS[name], desc) for name, desc in fields]
    if all(name != "NAME" for name, _ in fields):
        keys.append((_NAME, fields[-1][1]))  # names are unique: the tie-breaker
    order = Order(tuple(keys))
    by_volume = any(name == "REQUEST_VOLUME" for name, _ in fields)
    scope = scope_of(flt)
    request, cursors = page_request(order, args.page, scope)
    pinned = next((c.as_of for c in cursors if c.as_of is not None), None) if by_volume else None
    instant = resolve_as_of(ctx.now, pinned)
    snap = await ctx.snapshot()
    table = _table(snap)
    keep = table.live.copy()
    if flt.name:
        keep &= snapshot_index.name_matches(snap, folding.fold(flt.name))
    if flt.model_sizes is not None:
        keep &= np.isin(table.size, [MODEL_SIZES.index(s) for s in flt.model_sizes])
    codes = np.flatnonzero(keep)
    volume = (
        np.bincount(
            snap.name_code, weights=snap.metrics(window_of(instant)).request_volume, minlength=len(snap.names)
        )
        if by_volume
        else None
    )
    index = snapshot_index.names(snap)

    def comparable(values: Sequence[object]) -> tuple[float, ...]:
        out = []
        for (_, desc), value in zip(order.keys, values, strict=True):
            number = index.position_of(value) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
            out.append(-number if desc else number)
        return tuple(out)

    def values_of(code: int) -> tuple[object, ...]:
        return tuple(
            snap.names[code] if key is _NAME else float(volume[code])  # type: ignore[index]
            for key, _ in order.keys
        )

    rows = sorted(((comparable(values_of(c)), c) for c in codes.tolist()), key=lambda r: r[0])
    sort_keys = [r[0] for r in rows]
    lo = bisect.bisect_right(sort_keys, comparable(request.after)) if request.after is not None else 0
    hi = (
        bisect.bisect_left(sort_keys, comparable(request.before)) if request.before is not None else len(rows)
    )
    between = rows[lo : max(lo, hi)]
    chosen, has_next, has_previous = request.cut(between)
    names = [snap.names[c] for _, c in chosen]
    found = await _records(ctx, names)
    kept = [(found[snap.names[c]], c) for _, c in chosen if snap.names[c] in found]
    carried = instant if by_volume else None
    cursors_out = [encode_cursor(order, values_of(c), carried, scope) for _, c in kept]  # type: ignore[arg-type]
    total = len(codes)

    async def count() -> int:
        return total

    return Connection([m for m, _ in kept], cursors_out, has_next, has_previous, count, carried)


async def traffic_split(
    ctx: Context, model: ModelRecord, as_of: datetime | None
) -> list[tuple[Deployment, float]]:
    """(version, share) of each version ACTIVE at `as_of` (default now), newest first."""
    async with ctx.db.read() as session:
        rows = await releases.versions_of(
            session=session, model_name=model.name, include_deleted=as_of is not None
        )
    if as_of is None:
        split = [(row, float(row.traffic_percent)) for row in rows if row.status == DeploymentStatus.ACTIVE]
    else:
        at = resolve_as_of(ctx.now, as_of)
        trails = await ctx.loaders.events.load_many([row.id for row in rows])
        split = [
            (row, traffic.share_at(row, trail, at))
            for row, trail in zip(rows, trails, strict=True)
            if traffic.status_at(row, trail, at) == DeploymentStatus.ACTIVE
        ]
    return list(reversed(split))


async def model_deployments(
    ctx: Context, model: ModelRecord, args: deployments.Deployments
) -> Connection[DeploymentView]:
    return await deployments.model_deployments(ctx, model.name, args)


async def _positions(ctx: Context, model: ModelRecord) -> tuple[Snapshot, np.ndarray]:
    snap = await ctx.snapshot()
    return snap, deployments.rows_of_model(snap, model.name)


async def metrics(ctx: Context, model: ModelRecord, as_of: datetime | None) -> MetricsRecord:
    snap, positions = await _positions(ctx, model)
    return model_metrics(snap, positions, resolve_as_of(ctx.now, as_of))


async def history(ctx: Context, model: ModelRecord, range_name: str, as_of: datetime | None) -> SeriesRecord:
    snap, positions = await _positions(ctx, model)
    return model_history(snap, positions, range_name, resolve_as_of(ctx.now, as_of))


def global_id(model: ModelRecord) -> str:
    return ids.encode(TYPE_NAME, model.first_id)


async def aliases(ctx: Context, model: ModelRecord) -> list[tuple[ModelAlias, DeploymentView]]:
    """The model's aliases with the versions they point at (live: an aliased version cannot be deleted)."""
    async with ctx.db.read() as session:
        found = await alias_rows.of_model(session=session, model_name=model.name)
    rows = await ctx.loaders.deployment.load_many([a.deployment_id for a in found])
    return [(a, row) for a, row in zip(found, rows, strict=True) if row is not None]
