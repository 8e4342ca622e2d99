"""Training jobs over time: schedule at creation, progress and loss at read time, settling when due.

A job's whole run is fixed when it is created (queue time, run time, outcome: a pure function
of its id and settings in the simulator), so every process derives the same status, progress
and loss for the same instant.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from db import training_jobs
from db.catalog import BY_NAME
from db.models import TrainingJob
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
    for job_id, start in await training_jobs.due_starts(session=session, now=now):
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


# Bounds of createTrainingJob's input: (low, high) inclusive.
LEARNING_RATE = (1e-6, 1e-2)
EPOCHS = (1, 50)
BATCH_SIZE = (1, 1024)
LORA_RANK = (1, 512)
NAME_LENGTH = 100
DATASET_LENGTH = 200


@dataclass(frozen=True)
class JobSpec:
    """What createTrainingJob asks for."""

    model_name: str
    base_model: str
    dataset: str
    learning_rate: float
    epochs: int
    batch_size: int
    lora_rank: int | None


def validate(spec: JobSpec) -> list[tuple[tuple[str, ...], str]]:
    """(field path, message) for every invalid input field; empty when all are valid."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for path, text, limit in (
        ("modelName", spec.model_name, NAME_LENGTH),
        ("dataset", spec.dataset, DATASET_LENGTH),
    ):
        if not text.strip():
            problems.append(((path,), f"{path} must not be empty"))
        elif len(text) > limit:
            problems.append(((path,), f"{path} is {len(text)} characters; at most {limit} are allowed"))
        elif not text.isprintable():
            problems.append(((path,), f"{path} must not contain control characters"))
    if spec.base_model not in BY_NAME:
        choices = ", ".join(BY_NAME)
        problems.append(
            (("baseModel",), f"Unknown base model {spec.base_model[:60]!r}; choose one of {choices}")
        )
    hp = "hyperparameters"
    low_rate, high_rate = LEARNING_RATE
    if not (math.isfinite(spec.learning_rate) and low_rate <= spec.learning_rate <= high_rate):
        problems.append(
            ((hp, "learningRate"), f"learningRate must be between {low_rate:g} and {high_rate:g}")
        )
    for name, number, (low, high) in (
        ("epochs", spec.epochs, EPOCHS),
        ("batchSize", spec.batch_size, BATCH_SIZE),
    ):
        if not low <= number <= high:
            problems.append(((hp, name), f"{name} must be between {low} and {high}, got {number}"))
    if spec.lora_rank is not None and not LORA_RANK[0] <= spec.lora_rank <= LORA_RANK[1]:
        problems.append(
            ((hp, "loraRank"), f"loraRank must be between {LORA_RANK[0]} and {LORA_RANK[1]}, or null")
        )
    return problems
