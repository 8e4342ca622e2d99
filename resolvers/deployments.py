"""Deployment queries: the filtered, ordered, keyset-paged connection and lookups."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from db import deployments
from db.models import Deployment, DeploymentEvent
from resolvers import ids, metric_listing
from resolvers.connections import Connection, from_page, name_filter, order_fields, tuple_or_none, utc
from resolvers.context import Context
from resolvers.metrics import (
    HealthRecord,
    MetricsRecord,
    SeriesRecord,
    StatsRecord,
    resolve_as_of,
    series,
    stats,
    window_of,
)
from resolvers.pagination import PageArgs, page_request, scope_of

TYPE_NAME = "Deployment"


def deployment_filter(
    *,
    statuses: Sequence[str] | None = None,
    model_name: str | None = None,
    training_job_id: str | None = None,
    model_sizes: Sequence[str] | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> deployments.DeploymentFilter:
    return deployments.DeploymentFilter(
        statuses=tuple_or_none(statuses),
        model_name=name_filter(model_name),
        training_job_id=ids.decode(training_job_id, "TrainingJob") if training_job_id else None,
        model_sizes=tuple_or_none(model_sizes),
        created_after=utc(created_after),
        created_before=utc(created_before),
    )


async def list_deployments(
    ctx: Context,
    *,
    flt: deployments.DeploymentFilter,
    health: Sequence[str] | None,
    order_by: Sequence[tuple[str, bool]] | None,
    page_args: PageArgs,
    as_of: datetime | None,
) -> Connection[Deployment]:
    """Stored orders page in SQL; metric orders and health filters sort the fleet snapshot."""
    fields = order_fields(order_by, ("CREATED_AT", True))
    if metric_listing.needs_metrics(fields, health):
        return await metric_listing.list_by_metrics(
            ctx,
            flt=flt,
            health=health,
            fields=fields,
            page_args=page_args,
            as_of=as_of,
        )
    instant = resolve_as_of(ctx.now, as_of)
    order = deployments.make_order(fields)
    scope = scope_of(flt)
    page, _ = page_request(order, page_args, scope)
    async with ctx.db.read() as session:
        result = await deployments.list_deployments(session=session, flt=flt, order=order, page=page)

    async def count() -> int:
        return await metric_listing.count_matching(ctx, flt)

    return from_page(result, order, count, instant, scope)


async def job_deployments(
    ctx: Context,
    job_id: int,
    *,
    flt: deployments.DeploymentFilter,
    health: Sequence[str] | None,
    order_by: Sequence[tuple[str, bool]] | None,
    page_args: PageArgs,
) -> Connection[Deployment]:
    """A job's deployments; sibling jobs in one response share one query through the loaders."""
    fields = order_fields(order_by, ("CREATED_AT", True))
    if metric_listing.needs_metrics(fields, health):
        if flt.training_job_id not in (None, job_id):
            flt = replace(flt, ids=())  # filtering on another job: nothing matches
        return await metric_listing.list_by_metrics(
            ctx,
            flt=replace(flt, training_job_id=job_id),
            health=health,
            fields=fields,
            page_args=page_args,
            as_of=None,
        )
    order = deployments.make_order(fields)
    scope = scope_of(flt, job_id)
    page, _ = page_request(order, page_args, scope)
    result = await ctx.loaders.job_deployments.load((job_id, flt, order, page))

    async def count() -> int:
        return await ctx.loaders.job_deployment_count.load((job_id, flt))

    return from_page(result, order, count, ctx.now, scope)


async def get_deployment(ctx: Context, global_id: str) -> Deployment | None:
    return await ctx.loaders.deployment.load(ids.decode(global_id, TYPE_NAME))


async def events(ctx: Context, deployment_id: int) -> list[DeploymentEvent]:
    return await ctx.loaders.events.load(deployment_id)


def _instant(ctx: Context, pinned: datetime | None, as_of: datetime | None) -> datetime:
    """A field's own asOf wins; else the instant its connection was sorted at; else now."""
    if as_of is not None:
        return resolve_as_of(ctx.now, as_of)
    return pinned or ctx.now


async def metrics(
    ctx: Context, deployment_id: int, pinned: datetime | None, as_of: datetime | None
) -> MetricsRecord:
    window = window_of(_instant(ctx, pinned, as_of))
    return await ctx.figures.metrics.load((deployment_id, window))


async def health(
    ctx: Context, deployment_id: int, pinned: datetime | None, as_of: datetime | None
) -> HealthRecord:
    window = window_of(_instant(ctx, pinned, as_of))
    return await ctx.figures.health.load((deployment_id, window))


async def history(
    ctx: Context, deployment_id: int, range_name: str, pinned: datetime | None, as_of: datetime | None
) -> SeriesRecord:
    return await series(await ctx.snapshot(), deployment_id, range_name, _instant(ctx, pinned, as_of))


async def fleet_stats(ctx: Context, as_of: datetime | None) -> StatsRecord:
    return stats(await ctx.snapshot(), resolve_as_of(ctx.now, as_of))
