"""Deployment queries: the filtered, ordered, keyset-paged connection and lookups."""

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from db.deployments import DeploymentView
from db.models import DeploymentEvent
from resolvers import ids, listing, listing_keys
from resolvers.arguments import name_filter, tuple_or_none, utc
from resolvers.context import Context
from resolvers.metric_records import (
    HealthRecord,
    MetricsRecord,
    SeriesRecord,
    StatsRecord,
    resolve_as_of,
    window_of,
)
from resolvers.metrics import PageFigures, stats
from resolvers.pagination import Connection, Cursors, Listing, order_fields, page_request, scope_of
from resolvers.snapshot import Snapshot

TYPE_NAME = "Deployment"


def deployment_filter(
    *,
    statuses: Sequence[str] | None = None,
    model_name: str | None = None,
    training_job_id: str | None = None,
    model_sizes: Sequence[str] | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    health: Sequence[str] | None = None,
) -> listing.DeploymentFilter:
    return listing.DeploymentFilter(
        statuses=tuple_or_none(statuses),
        model_name=name_filter(model_name),
        training_job_id=ids.decode(training_job_id, "TrainingJob") if training_job_id else None,
        model_sizes=tuple_or_none(model_sizes),
        created_after=utc(created_after),
        created_before=utc(created_before),
        health=tuple_or_none(health),
    )


Deployments = Listing[listing.DeploymentFilter]  # what every deployments connection asks for


async def list_deployments(
    ctx: Context, args: Deployments, as_of: datetime | None
) -> Connection[DeploymentView]:
    return await _listing(ctx, args, as_of, job_id=None)


async def job_deployments(ctx: Context, job_id: int, args: Deployments) -> Connection[DeploymentView]:
    """A job's deployments: a per-job slice of the snapshot; sibling jobs' rows load in one query."""
    return await _listing(ctx, args, None, job_id=job_id)


async def model_deployments(ctx: Context, model_name: str, args: Deployments) -> Connection[DeploymentView]:
    """A model's versions: the snapshot's rows of its name."""
    return await _listing(ctx, args, None, job_id=None, model_name=model_name)


async def _listing(
    ctx: Context, args: Deployments, as_of: datetime | None, job_id: int | None, model_name: str | None = None
) -> Connection[DeploymentView]:
    """Any filter and order: the page is found in the snapshot, then its rows are fetched by id."""
    flt = args.flt
    ordering = listing_keys.Ordering.of(order_fields(args.order_by, ("CREATED_AT", True)))
    # Sorted or filtered by figures: cursors carry the asOf, so page 2 continues page 1's window.
    by_figures = ordering.needs_window or flt.needs_window
    scope = scope_of(flt) if job_id is None else scope_of(flt, job_id)
    if model_name is not None:
        scope = scope_of(flt, "model", model_name)
    request, cursors = page_request(ordering.cursor_order, args.page, scope)
    pinned = next((c.as_of for c in cursors if c.as_of is not None), None) if by_figures else None
    instant = resolve_as_of(ctx.now, as_of if as_of is not None else pinned)
    snap = await ctx.snapshot()
    within = rows_of_model(snap, model_name) if model_name is not None else None
    found = listing.page(
        snap, flt, ordering, request, window_of(instant) if by_figures else None, job_id, within
    )
    page_ids = snap.ids[found.positions].tolist()
    # A job's page goes through the loader: sibling jobs' pages share its one query.
    if job_id is not None:
        rows = await ctx.loaders.deployment.load_many(page_ids)
    else:
        rows = await ctx.loaders.deployments_now(page_ids)
    # A row deleted since the snapshot was taken drops out of the page.
    page_rows = [row for row in rows if row is not None]
    keys = (
        found.keys
        if len(page_rows) == len(rows)
        else [k for r, k in zip(rows, found.keys, strict=True) if r is not None]
    )
    cursors_out = Cursors(ordering.cursor_order, keys, instant if by_figures else None, scope)
    total = found.total

    async def count() -> int:
        return total

    # A top-level page's figures in one pass for its rows. Nested pages (a job's deployments) keep the
    # loader: siblings' rows share its one pass, where a pass per page would cost more.
    window = window_of(instant)
    figures = (
        PageFigures(snap, [row.id for row in page_rows], window, fleet_wide=window == window_of(ctx.now))
        if job_id is None
        else None
    )
    return Connection(page_rows, cursors_out, found.has_next, found.has_previous, count, instant, figures)


def rows_of_model(snap: Snapshot, model_name: str) -> np.ndarray:
    """Snapshot positions of a model's live versions."""
    try:
        code = snap.names.index(model_name)
    except ValueError:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(snap.name_code == code)


async def get_deployment(ctx: Context, global_id: str) -> DeploymentView | None:
    return await ctx.loaders.deployment.load(ids.decode(global_id, TYPE_NAME))


async def events(ctx: Context, deployment_id: int) -> list[DeploymentEvent]:
    return await ctx.loaders.events.load(deployment_id)


def instant(ctx: Context, pinned: datetime | None, as_of: datetime | None) -> datetime:
    """A field's own asOf wins; else the instant its connection was sorted at; else now."""
    if as_of is not None:
        return resolve_as_of(ctx.now, as_of)
    return pinned or ctx.now


def page_metrics(
    page: PageFigures | None, deployment_id: int, as_of: datetime | None
) -> MetricsRecord | None:
    """A node's figures from its page's one pass, when it asks for the page's instant; else None."""
    if page is None or as_of is not None:
        return None
    return page.metrics(deployment_id)


async def metrics(
    ctx: Context, deployment_id: int, pinned: datetime | None, as_of: datetime | None
) -> MetricsRecord:
    window = window_of(instant(ctx, pinned, as_of))
    return await ctx.figures.metrics.load((deployment_id, window))


async def health(
    ctx: Context, deployment_id: int, pinned: datetime | None, as_of: datetime | None
) -> HealthRecord:
    window = window_of(instant(ctx, pinned, as_of))
    return await ctx.figures.health.load((deployment_id, window))


async def history(
    ctx: Context, deployment_id: int, range_name: str, pinned: datetime | None, as_of: datetime | None
) -> SeriesRecord:
    window = window_of(instant(ctx, pinned, as_of))
    return await ctx.figures.series.load((deployment_id, range_name, window))


async def fleet_stats(ctx: Context, as_of: datetime | None) -> StatsRecord:
    """The fleet now, or as it was at `as_of` (its deployments and statuses then, not only its figures)."""
    return stats(await ctx.snapshot(), resolve_as_of(ctx.now, as_of), past=as_of is not None)
