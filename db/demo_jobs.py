"""The demo's training jobs: one fine-tuning run of a product, as it ended or as it stands at load time."""

import random
from datetime import datetime, timedelta

from db.catalog import BY_NAME
from db.models import TrainingJob
from domain import JobStatus as J
from domain import ModelSize

_JOB_FAILURES = (
    "Loss diverged (NaN) at step 1840",
    "Node preempted three times; giving up",
    "CUDA out of memory at batch size 64",
)
_HOURS_PER_3_EPOCHS = {ModelSize.NANO: 1.5, ModelSize.SMALL: 5.0, ModelSize.LARGE: 14.0}


def job(
    rng: random.Random, name: str, base: str, dataset: str, status: J, at: datetime, now: datetime
) -> TrainingJob:
    """A job that ended at `at` (COMPLETE, FAILED, CANCELLED), or was created then (QUEUED, RUNNING)."""
    model = BY_NAME[base]
    epochs = rng.choice((2, 3, 3, 4, 5))
    hours = _HOURS_PER_3_EPOCHS[model.model_size] * epochs / 3 * rng.uniform(0.7, 1.3)
    queued = timedelta(minutes=rng.uniform(2, 90))
    progress = {J.QUEUED: 0.0, J.COMPLETE: 1.0}.get(status, round(rng.uniform(0.1, 0.9), 3))
    if status in (J.QUEUED, J.RUNNING):
        created, started, completed = at, (None if status == J.QUEUED else at + queued), None
    else:
        completed = at
        started = completed - timedelta(hours=hours * progress)
        created = started - queued
    return TrainingJob(
        model_name=name,
        base_model=base,
        parameter_count=model.parameter_count,
        model_size=model.model_size,
        dataset=dataset,
        learning_rate=rng.choice((1e-4, 2e-4, 3e-4, 5e-5)),
        epochs=epochs,
        batch_size=rng.choice((8, 16, 32, 64)),
        lora_rank=rng.choice((8, 16, 32, None)),
        status=status,
        status_reason=rng.choice(_JOB_FAILURES) if status == J.FAILED else None,
        progress=progress,
        final_loss=None,  # COMPLETE jobs get theirs from the simulator's loss curve
        created_at=created,
        started_at=started,
        completed_at=completed,
    )
