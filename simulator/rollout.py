"""Rollouts: whether a new deployment comes up, decided by a hash of its id."""

import numpy as np

from ._random import LEVELS, SLOT_BITS, deployment_key, hash_counter, slot

FAILURE_SHARE = 0.05
_FAILURE_THRESHOLD = round(FAILURE_SHARE * LEVELS)
_STREAM = 0x2011007

_REASONS = (
    "Health check timed out after 120 s: container did not become ready",
    "Out of memory while loading model weights (CUDA OOM on 1 \u00d7 A10G)",
    "Image pull failed: registry returned 503 Service Unavailable",
    "Readiness probe failed: /healthz returned 500 (tokenizer files missing from the model artifact)",
    "No GPU capacity: no A10G node became available within 10 min",
    "Container exited with code 137 during warm-up (memory limit of 16 GiB exceeded)",
)


def _bits(ids: np.ndarray) -> np.ndarray:
    """The rollout's random bits for each deployment id."""
    key = deployment_key(np.atleast_1d(np.asarray(ids, dtype=np.int64)))
    return hash_counter(key, _STREAM, np.zeros(key.shape, dtype=np.int64))


def rollout_fails(ids: np.ndarray) -> np.ndarray:
    """Whether each deployment's rollout fails: a small deterministic share (about 5 %) do."""
    ids = np.asarray(ids, dtype=np.int64)
    return (slot(_bits(ids), 0) < _FAILURE_THRESHOLD).reshape(ids.shape)


def rollout_failure_reason(deployment_id: int) -> str:
    """Why this deployment's rollout failed: one of a few realistic causes, fixed per id."""
    draw = int(slot(_bits(np.array([deployment_id])), 1)[0])
    return _REASONS[(draw * len(_REASONS)) >> SLOT_BITS]
