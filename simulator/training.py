"""Training jobs: how long they queue and run, whether they fail, and their loss curves.

All of it is a pure function of the job id and its hyperparameters. At
time_scale 1.0 a NANO job of 3 epochs queues for ~15 s and runs for ~1.5 min;
SMALL epochs take 3 times, LARGE epochs 10 times as long.
"""

from typing import NamedTuple

import numpy as np

from ._random import LEVELS, NORMAL, SLOT_BITS, deployment_key, hash_counter, slot

FAILURE_SHARE = 0.05
_FAILURE_THRESHOLD = round(FAILURE_SHARE * LEVELS)

_QUEUE_SECONDS_BY_SIZE = np.array([15.0, 30.0, 60.0])  # bigger GPUs are scarcer
_SETUP_SECONDS_BY_SIZE = np.array([10.0, 20.0, 45.0])  # pull the image, load the base model
_EPOCH_SECONDS_BY_SIZE = np.array([25.0, 75.0, 250.0])
_QUEUE_SPREAD = np.exp(0.5 * NORMAL)  # queues vary a lot
_RUN_SPREAD = np.exp(0.15 * NORMAL)  # dataset size varies a little

# Loss of a fine-tune: from about the base model's loss on the new data down to a floor
# that bigger models reach lower.
_INITIAL_LOSS = 2.2 + 0.6 * (np.arange(LEVELS) + 0.5) / LEVELS
_FLOOR_BY_SIZE = np.array([1.15, 0.85, 0.6])
_FLOOR_SPREAD = np.exp(0.12 * NORMAL)  # some datasets are harder than others
_BEST_LEARNING_RATE = 2e-4
_DECAY_PER_EPOCH = 2.2  # at the best learning rate
_PROGRESS_STEPS = 10_000  # noise is keyed on progress rounded to 1/10,000

_STREAM_JOB, _STREAM_CURVE, _STREAM_CURVE_NOISE = 0x7A1, 0x7A2, 0x7A3

_REASONS = (
    "CUDA out of memory at step 412: reduce the batch size or the LoRA rank",
    "Loss became NaN: the learning rate is probably too high",
    "Spot instance preempted and the last checkpoint could not be restored",
    "Dataset validation failed: 37 rows exceed the maximum sequence length",
    "NCCL timeout: a worker stopped responding during all-reduce",
    "Checkpoint upload failed: object store returned 403 Forbidden",
)


class TrainingSchedule(NamedTuple):
    """Per job: seconds queued, seconds the full run takes, and whether and when it fails."""

    queue_seconds: np.ndarray  # float64
    run_seconds: np.ndarray  # float64 the full run; a failing job stops at run_seconds * fail_fraction
    fails: np.ndarray  # bool
    fail_fraction: np.ndarray  # float64 progress (0..1) at which the job stops: 1.0 unless it fails


def _job_bits(job_ids: np.ndarray, stream: int = _STREAM_JOB) -> np.ndarray:
    """Random bits of each training job for one stream (independent of deployment streams)."""
    key = deployment_key(job_ids)
    return hash_counter(key, stream, np.zeros(key.shape, dtype=np.int64))


def training_schedule(
    job_ids: np.ndarray, size: np.ndarray, epochs: np.ndarray, time_scale: float
) -> TrainingSchedule:
    """Queue time, run time and outcome of jobs; time_scale multiplies every duration."""
    if not (np.isfinite(time_scale) and time_scale >= 0):
        raise ValueError("time_scale must be a finite number >= 0")
    ids, size, epochs = np.broadcast_arrays(
        np.asarray(job_ids, dtype=np.int64),
        np.asarray(size, dtype=np.int64),
        np.asarray(epochs, dtype=np.int64),
    )
    if np.any(epochs < 1) or np.any((size < 0) | (size > 2)):
        raise ValueError("epochs must be >= 1 and size 0 (NANO), 1 (SMALL) or 2 (LARGE)")
    bits = _job_bits(ids.ravel()).reshape(ids.shape)
    queue = _QUEUE_SECONDS_BY_SIZE[size] * _QUEUE_SPREAD.take(slot(bits, 0))
    run = (_SETUP_SECONDS_BY_SIZE[size] + epochs * _EPOCH_SECONDS_BY_SIZE[size]) * _RUN_SPREAD.take(
        slot(bits, 1)
    )
    fails = slot(bits, 2) < _FAILURE_THRESHOLD
    # Failures strike anywhere from the first steps to near the end.
    fail_fraction = np.where(fails, 0.05 + 0.9 * (slot(bits, 3) + 0.5) / LEVELS, 1.0)
    return TrainingSchedule(
        queue_seconds=queue * time_scale,
        run_seconds=run * time_scale,
        fails=fails,
        fail_fraction=fail_fraction,
    )


def loss_curve(job_id: int, size: int, learning_rate: float, epochs: int, progress: np.ndarray) -> np.ndarray:
    """Training loss at the given progress fractions (0..1); loss_curve(..., [1.0]) is the final loss."""
    progress = np.asarray(progress, dtype=np.float64)
    if np.isnan(progress).any():
        raise ValueError("progress must not be NaN")
    if not (np.isfinite(learning_rate) and learning_rate > 0) or epochs < 1 or size not in (0, 1, 2):
        raise ValueError("learning_rate must be > 0, epochs >= 1 and size 0, 1 or 2")
    progress = np.clip(progress, 0.0, 1.0)
    traits = _job_bits(np.array([job_id]), _STREAM_CURVE)
    initial = float(_INITIAL_LOSS.take(slot(traits, 0))[0])
    floor = _FLOOR_BY_SIZE[size] * float(_FLOOR_SPREAD.take(slot(traits, 1))[0])
    # Too low a learning rate converges slowly; too high a one settles higher and noisier
    # (capped at 100x the best rate, where real runs diverge; keeps the loss positive).
    too_high = min(max(float(np.log10(learning_rate / _BEST_LEARNING_RATE)), 0.0), 2.0)
    decay = _DECAY_PER_EPOCH * min(learning_rate / _BEST_LEARNING_RATE, 1.0) ** 0.5
    floor *= 1.0 + 0.25 * too_high
    noise_sd = 0.015 * (1.0 + too_high)

    epochs_done = progress * epochs
    smooth = floor + (initial - floor) * np.exp(-decay * epochs_done)
    # Keyed on the rounded progress, so a point's noise does not depend on the other points asked for.
    step = np.rint(progress * _PROGRESS_STEPS).astype(np.int64)
    key = deployment_key(np.array([job_id]))
    noise = NORMAL.take(slot(hash_counter(key, _STREAM_CURVE_NOISE, step.ravel()), 0)).reshape(step.shape)
    # Batch-to-batch noise: relative, larger early on while the model is still moving.
    return smooth * (1.0 + noise_sd * (1.0 + np.exp(-2.0 * epochs_done)) * noise)


def training_failure_reason(job_id: int) -> str:
    """Why this training job failed: one of a few realistic causes, fixed per id."""
    draw = int(slot(_job_bits(np.array([job_id])), 4)[0])
    return _REASONS[(draw * len(_REASONS)) >> SLOT_BITS]
