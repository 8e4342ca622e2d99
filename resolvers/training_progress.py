"""Training jobs over time: schedule at creation, progress and loss at read time, settling when due.

A job's whole run is fixed when it is created (queue time, run time, outcome: a pure function
of its id and settings in the simulator), so every process derives the same status, progress
and loss for the same instant.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from db import training_jobs
from db.models import TrainingJob
from db.schedule import JOB_START
from domain import (
    DEPLOYABLE_JOB_STATUS,
    FAIL_TRAINING,
    FINISH_TRAINING,
    MODEL_SIZES,
    START_TRAINING,
    Code,
    JobStatus,
)
from resolvers.errors import ApiError
from simulator import loss_curve, training_failure_reason, training_schedule

MAX_LOSS_POINTS = 500
DEFAULT_LOSS_POINTS = 50


@dataclass(frozen=True)
class LossPoint:
    progress: float
    epoch: float
    loss: float


def schedule(
    job_id: int, model_size: str, epochs: int, created_at: datetime, time_scale: float
) -> dict[str, Any]:
    """Column values of a new job's simulated run."""
    plan = training_schedule(
        np.array([job_id]), np.array([MODEL_SIZES.index(model_size)]), np.array([epochs]), time_scale
    )
    start = created_at + timedelta(seconds=float(plan.queue_seconds[0]))
    fraction = float(plan.fail_fraction[0])
    return {
        "scheduled_start_at": start,
        "scheduled_end_at": start + timedelta(seconds=float(plan.run_seconds[0]) * fraction),
        "planned_status": (FAIL_TRAINING if bool(plan.fails[0]) else FINISH_TRAINING).target,
        "planned_progress": fraction,
    }


def loss_points(points: int | None) -> int:
    """`lossHistory(points)`: the default when null; ApiError(BAD_USER_INPUT) out of 2 to 500."""
    count = DEFAULT_LOSS_POINTS if points is None else points
    if not 2 <= count <= MAX_LOSS_POINTS:
        raise ApiError(f"`points` must be between 2 and {MAX_LOSS_POINTS}, got {count}", Code.BAD_USER_INPUT)
    return count


def deployable(job: TrainingJob) -> bool:
    return job.status == DEPLOYABLE_JOB_STATUS


def progressing(job: TrainingJob) -> bool:
    """Its progress (and loss history) moves with the clock."""
    return job.status == JobStatus.RUNNING


def progress(job: TrainingJob, now: datetime) -> float:
    """Fraction done at `now`: rises while RUNNING, frozen once the job stops."""
    if job.status != JobStatus.RUNNING or job.scheduled_start_at is None or job.scheduled_end_at is None:
        return job.progress
    span = (job.scheduled_end_at - job.scheduled_start_at).total_seconds()
    stop = job.planned_progress if job.planned_progress is not None else 1.0
    if span <= 0:
        return stop
    elapsed = (now - job.scheduled_start_at).total_seconds()
    return min(max(stop * elapsed / span, job.progress), stop)


def final_loss(job: TrainingJob) -> float:
    return float(
        loss_curve(job.id, MODEL_SIZES.index(job.model_size), job.learning_rate, job.epochs, np.array([1.0]))[
            0
        ]
    )


def loss_history(job: TrainingJob, now: datetime, points: int) -> list[LossPoint]:
    """The loss curve from the start to the job's progress at `now`, `points` evenly spaced points."""
    done = progress(job, now)
    if job.status == JobStatus.QUEUED or done <= 0 or points < 1:
        return []
    grid = np.linspace(0.0, done, points) if points > 1 else np.array([done])
    losses = loss_curve(job.id, MODEL_SIZES.index(job.model_size), job.learning_rate, job.epochs, grid)
    curve = [
        LossPoint(float(p), float(p * job.epochs), float(loss)) for p, loss in zip(grid, losses, strict=True)
    ]
    if job.status == JobStatus.COMPLETE and job.final_loss is not None:
        # The stored final loss is the curve's end by construction; show that very number.
        curve[-1] = LossPoint(curve[-1].progress, curve[-1].epoch, job.final_loss)
    return curve


async def settle_jobs(session: AsyncSession, now: datetime) -> int:
    """Start the queued jobs whose time has come, then finish the running ones; returns the transitions."""
    written = 0
    for job_id, start in await JOB_START.due(session, now):
        written += await training_jobs.transition(
            session=session,
            job_id=job_id,
            from_statuses=START_TRAINING.sources,
            values={"status": START_TRAINING.target, "started_at": start},
        )
    for job in await training_jobs.due_ends(session=session, now=now):
        move = FAIL_TRAINING if job.planned_status == FAIL_TRAINING.target else FINISH_TRAINING
        if move is FAIL_TRAINING:
            values: dict[str, Any] = {
                "status": move.target,
                "progress": job.planned_progress,
                "completed_at": job.scheduled_end_at,
                "status_reason": training_failure_reason(job.id),
            }
        else:
            values = {
                "status": move.target,
                "progress": 1.0,
                "completed_at": job.scheduled_end_at,
                "final_loss": final_loss(job),
            }
        written += await training_jobs.transition(
            session=session, job_id=job.id, from_statuses=move.sources, values=values
        )
    return written
