"""Training job queries."""

from collections.abc import Sequence

from db import training_jobs
from db.models import TrainingJob
from resolvers import ids
from resolvers.arguments import name_filter, tuple_or_none
from resolvers.context import Context
from resolvers.pagination import (
    Connection,
    Listing,
    from_page,
    order_fields,
    page_request,
    scope_of,
)

TYPE_NAME = "TrainingJob"
TrainingJobs = Listing[training_jobs.TrainingJobFilter]  # what the jobs connection asks for


def job_filter(
    *, statuses: Sequence[str] | None = None, model_name: str | None = None, deployable: bool | None = None
) -> training_jobs.TrainingJobFilter:
    return training_jobs.TrainingJobFilter(
        statuses=tuple_or_none(statuses), model_name=name_filter(model_name), deployable=deployable
    )


async def list_jobs(ctx: Context, args: TrainingJobs) -> Connection[TrainingJob]:
    flt = args.flt
    order = training_jobs.make_order(order_fields(args.order_by, ("CREATED_AT", True)))
    scope = scope_of(flt)
    page, _ = page_request(order, args.page, scope)
    async with ctx.db.read() as session:
        result = await training_jobs.list_jobs(session=session, flt=flt, order=order, page=page)

    async def count() -> int:
        async with ctx.db.read() as session:
            return await training_jobs.count_jobs(session=session, flt=flt)

    return from_page(result, order, count, scope=scope)


async def get_job(ctx: Context, global_id: str) -> TrainingJob | None:
    job = await ctx.loaders.job.load(ids.decode(global_id, TYPE_NAME))
    return None if job is None or job.deleted_at is not None else job


async def job_of(ctx: Context, job_id: int) -> TrainingJob:
    job = await ctx.loaders.job.load(job_id)
    assert job is not None, "deployments reference their job with a foreign key"
    return job
