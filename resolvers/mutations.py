"""Mutations: each runs in one transaction; a UserError rolls it back and changes nothing."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import aliases, deployments, training_jobs
from db.catalog import BY_NAME
from db.engine import DatabaseBusy, DatabaseFull, DatabaseReadOnly
from db.models import Deployment, TrainingJob
from domain import (
    CANCEL_TRAINING,
    DELETE,
    DEPLOYABLE_JOB_STATUS,
    NEW_JOB_STATUS,
    PAUSE,
    PROTECTED_BY_ALIAS,
    RESUME,
    Code,
    Move,
    RolloutStrategy,
)
from resolvers import ids, rollout_steps, rollouts, training_input, training_progress
from resolvers.context import Context
from resolvers.errors import ApiError, UserError, UserErrorException

T = TypeVar("T")
_VERSION_RETRIES = 5
_BUSY_RETRIES = 3


@dataclass
class Result(Generic[T]):
    value: T | None = None
    errors: list[UserError] = field(default_factory=list)


def _fail(code: Code, message: str, *path: str) -> UserErrorException:
    return UserErrorException(UserError(code, message, ("input", *path) if path else None))


def _row_id(global_id: str, type_name: str, field_name: str) -> int:
    try:
        return ids.decode(global_id, type_name)
    except ApiError as exc:
        raise _fail(Code.INVALID_ID, exc.message, field_name) from None


async def _job(session: AsyncSession, global_id: str, field_name: str) -> TrainingJob:
    """The live training job a mutation's input names; NOT_FOUND (on that field) when there is none."""
    job_id = _row_id(global_id, "TrainingJob", field_name)
    job = (await training_jobs.get_jobs(session=session, ids=[job_id])).get(job_id)
    if job is None:
        raise _fail(Code.NOT_FOUND, f"No training job {global_id}", field_name)
    return job


async def _run(ctx: Context, work: Callable[[AsyncSession], Awaitable[T]]) -> Result[T]:
    """Run `work` in one transaction; retried a few times while the database is busy."""
    for attempt in range(_BUSY_RETRIES):
        try:
            async with ctx.db.write() as session:
                value = await work(session)
        except UserErrorException as exc:
            return Result(errors=[exc.error])
        except DatabaseBusy:
            if attempt + 1 == _BUSY_RETRIES:
                raise ApiError(
                    "The database is busy; nothing was changed. Try again shortly.", Code.DATABASE_BUSY
                ) from None
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        except DatabaseReadOnly:
            raise ApiError(
                "The database is read-only; nothing was changed. Reads still work.", Code.DATABASE_READ_ONLY
            ) from None
        except DatabaseFull:
            raise ApiError(
                "The database is full (no space left); nothing was changed. Reads still work.",
                Code.DATABASE_FULL,
            ) from None
        ctx.wrote()
        return Result(value)
    raise AssertionError("unreachable")


# The same transaction and errors for the release mutations (resolvers/split_mutations.py).
run, fail, row_id = _run, _fail, _row_id


async def deploy_job(
    ctx: Context, job_global_id: str, rollout: rollouts.Spec | None = None
) -> Result[Deployment]:
    """Deploy a COMPLETE job as the next version of its model; with a CANARY or LINEAR `rollout`,
    it takes traffic step by step once ACTIVE (resolvers/rollouts.py)."""
    progressive = rollout is not None and rollout.strategy is not RolloutStrategy.ALL_AT_ONCE

    async def work(session: AsyncSession) -> Deployment:
        if rollout is not None:
            rollouts.check(rollout, "rollout")
        job = await _job(session, job_global_id, "jobId")
        if job.status != DEPLOYABLE_JOB_STATUS:
            raise _fail(
                Code.JOB_NOT_COMPLETE,
                f"Training job is {job.status}; only {DEPLOYABLE_JOB_STATUS} jobs can be deployed",
                "jobId",
            )
        # One rollout per model at a time: a version taking all the traffic would end the baking one.
        await rollouts.refuse_if_baking(session, job.model_name, "jobId")
        created = await deployments.create_deployment(
            session=session,
            job=job,
            actor=ctx.actor,
            now=ctx.now,
            rollout_due_at=ctx.now + timedelta(seconds=ctx.rollout_seconds),
        )
        if progressive:
            assert rollout is not None
            await rollouts.plan(
                session,
                deployment_id=created.id,
                model_name=created.model_name,
                version=created.version,
                spec=rollout,
                actor=ctx.actor,
                at=ctx.now,
            )
        return created

    # On PostgreSQL two deploys can pick the same version; the unique constraint refuses one.
    for _ in range(_VERSION_RETRIES):
        try:
            return await _run(ctx, work)
        except IntegrityError:
            continue
    return Result(errors=[UserError(Code.CONFLICT, "Too many concurrent deploys of this model; try again")])


async def _refuse_if_aliased(session: AsyncSession, deployment_id: int, move: Move) -> None:
    """PROTECTED when the move would take an aliased version away (it must be unaliased first)."""
    if move not in PROTECTED_BY_ALIAS:
        return
    row = await deployments.get_deployment_any(session=session, deployment_id=deployment_id)
    if row is None or row.deleted_at is not None or row.status not in move.sources:
        return  # NOT_FOUND or INVALID_TRANSITION says why
    names = (await aliases.names_of(session=session, deployment_ids=[deployment_id]))[deployment_id]
    if names:
        raise _fail(
            Code.PROTECTED,
            f"The version has an alias ({', '.join(names)}): remove the alias first; "
            f"until then it cannot be {move.verb}",
            "id",
        )


async def _move(ctx: Context, global_id: str, move: Move) -> Result[Deployment]:
    async def work(session: AsyncSession) -> Deployment:
        row_id = _row_id(global_id, "Deployment", "id")
        await _refuse_if_aliased(session, row_id, move)
        moved = await deployments.transition(
            session=session,
            deployment_id=row_id,
            move=move,
            actor=ctx.actor,
            at=ctx.now,
        )
        row = await deployments.get_deployment_any(session=session, deployment_id=row_id)
        if row is None or row.deleted_at is not None:
            raise _fail(Code.NOT_FOUND, f"No deployment {global_id}", "id")
        if not moved:
            raise _fail(Code.INVALID_TRANSITION, move.refusal(row.status), "id")
        if move is PAUSE:  # a paused version's rollout stops with it (its share went to the others)
            why = "the version was paused"
            await rollout_steps.stop(session, row.model_name, actor=ctx.actor, at=ctx.now, why=why, of=row_id)
        await session.refresh(row)
        return row

    return await _run(ctx, work)


async def pause_deployment(ctx: Context, global_id: str) -> Result[Deployment]:
    return await _move(ctx, global_id, PAUSE)


async def resume_deployment(ctx: Context, global_id: str) -> Result[Deployment]:
    return await _move(ctx, global_id, RESUME)


async def delete_deployment(ctx: Context, global_id: str) -> Result[str]:
    async def work(session: AsyncSession) -> str:
        row_id = _row_id(global_id, "Deployment", "id")
        await _refuse_if_aliased(session, row_id, DELETE)
        if await deployments.soft_delete(session=session, deployment_id=row_id, actor=ctx.actor, at=ctx.now):
            return global_id
        row = await deployments.get_deployment_any(session=session, deployment_id=row_id)
        if row is None or row.deleted_at is not None:
            raise _fail(Code.NOT_FOUND, f"No deployment {global_id}", "id")
        raise _fail(Code.INVALID_TRANSITION, DELETE.refusal(row.status), "id")

    return await _run(ctx, work)


async def delete_training_job(ctx: Context, global_id: str) -> Result[str]:
    async def work(session: AsyncSession) -> str:
        job = await _job(session, global_id, "id")
        job_id = job.id
        if await deployments.has_live_deployments(session=session, job_id=job_id):
            raise _fail(Code.HAS_DEPLOYMENTS, "Delete this job's deployments first", "id")
        await training_jobs.soft_delete(session=session, job_id=job_id, at=ctx.now)
        return global_id

    return await _run(ctx, work)


async def create_training_job(ctx: Context, spec: training_input.JobSpec) -> Result[TrainingJob]:
    """A QUEUED job; every invalid field gets its own UserError and nothing is created."""
    problems = training_input.validate(spec)
    if problems:
        return Result(
            errors=[UserError(Code.INVALID_INPUT, message, ("input", *path)) for path, message in problems]
        )
    base = BY_NAME[spec.base_model]

    async def work(session: AsyncSession) -> TrainingJob:
        job = await training_jobs.create_job(
            session=session,
            values=dict(
                model_name=spec.model_name.strip(),
                base_model=base.name,
                parameter_count=base.parameter_count,
                model_size=base.model_size,
                dataset=spec.dataset.strip(),
                learning_rate=spec.learning_rate,
                epochs=spec.epochs,
                batch_size=spec.batch_size,
                lora_rank=spec.lora_rank,
                status=NEW_JOB_STATUS,
                progress=0.0,
                created_at=ctx.now,
            ),
        )
        for key, value in training_progress.schedule(
            job.id, job.model_size, spec.epochs, ctx.now, ctx.training_time_scale
        ).items():
            setattr(job, key, value)
        await session.flush()
        return job

    return await _run(ctx, work)


async def cancel_training_job(ctx: Context, global_id: str) -> Result[TrainingJob]:
    """QUEUED or RUNNING -> CANCELLED, progress frozen where it was."""

    async def work(session: AsyncSession) -> TrainingJob:
        job = await _job(session, global_id, "id")
        job_id = job.id
        if job.status not in CANCEL_TRAINING.sources or not await training_jobs.transition(
            session=session,
            job_id=job_id,
            from_statuses=(job.status,),
            values={
                "status": CANCEL_TRAINING.target,
                "completed_at": ctx.now,
                "progress": training_progress.progress(job, ctx.now),
            },
        ):
            raise _fail(Code.INVALID_TRANSITION, CANCEL_TRAINING.refusal(job.status), "id")
        await session.refresh(job)
        return job

    return await _run(ctx, work)
