"""Simulated inference metrics and training progress: pure numpy functions of time.

Imports nothing of the project; every figure is a deterministic function of the
deployment's stored facts and the window (see DESIGN.md, "Realism").
"""

from .fleet import MODEL_SIZES, Fleet
from .health import (
    CRITICAL,
    HEALTHY,
    NO_TRAFFIC,
    WARNING,
    health_codes,
    health_reasons,
    trailing_mean_volume,
)
from .metrics import Metrics, compute_metrics
from .rollout import rollout_fails, rollout_failure_reason
from .series import RANGES, compute_series
from .training import TrainingSchedule, loss_curve, training_failure_reason, training_schedule
from .windows import WINDOW_SECONDS, window_of

__all__ = [
    "CRITICAL",
    "HEALTHY",
    "MODEL_SIZES",
    "NO_TRAFFIC",
    "RANGES",
    "WARNING",
    "WINDOW_SECONDS",
    "Fleet",
    "Metrics",
    "TrainingSchedule",
    "compute_metrics",
    "compute_series",
    "health_codes",
    "health_reasons",
    "loss_curve",
    "rollout_fails",
    "rollout_failure_reason",
    "trailing_mean_volume",
    "training_failure_reason",
    "training_schedule",
    "window_of",
]
