"""Deployment queries: the filtered, ordered, keyset-paged connection and lookups."""

from collections.abc import Sequence
from datetime import datetime

from db import deployments
from db.models import Deployment, DeploymentEvent
from resolvers import ids
from resolvers.connections import Connection, from_page, order_fields, tuple_or_none, utc
from resolvers.context import Context
from resolvers.pagination import page_request

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
        model_name=model_name,
        training_job_id=ids.decode(training_job_id, "TrainingJob") if training_job_id else None,
        model_sizes=tuple_or_none(model_sizes),
        created_after=utc(created_after),
        created_before=utc(created_before),
    )


async def list_deployments(
    ctx: Context,
    *,
    flt: deployments.DeploymentFilter,
    order_by: Sequence[tuple[str, bool]] | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Deployment]:
    order = deployments.make_order(order_fields(order_by, ("CREATED_AT", True)))
    page, _ = page_request(order, first, after, last, before)
    async with ctx.db.read() as session:
        result = await deployments.list_deployments(session=session, flt=flt, order=order, page=page)

    async def count() -> int:
        async with ctx.db.read() as session:
            return await deployments.count_deployments(session=session, flt=flt)

    return from_page(result, order, count)


async def job_deployments(
    ctx: Context,
    job_id: int,
    *,
    flt: deployments.DeploymentFilter,
    order_by: Sequence[tuple[str, bool]] | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Deployment]:
    """A job's deployments; sibling jobs in one response share one query through the loaders."""
    order = deployments.make_order(order_fields(order_by, ("CREATED_AT", True)))
    page, _ = page_request(order, first, after, last, before)
    result = await ctx.loaders.job_deployments.load((job_id, flt, order, page))

    async def count() -> int:
        return await ctx.loaders.job_deployment_count.load((job_id, flt))

    return from_page(result, order, count)


async def get_deployment(ctx: Context, global_id: str) -> Deployment | None:
    return await ctx.loaders.deployment.load(ids.decode(global_id, TYPE_NAME))


async def events(ctx: Context, deployment_id: int) -> list[DeploymentEvent]:
    return await ctx.loaders.events.load(deployment_id)
