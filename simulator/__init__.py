"""Simulated inference metrics and training progress: pure numpy functions of time.

Imports nothing of the project but the leaf `domain` (the states' names, for its integer codes);
every figure is a deterministic function of the deployment's stored facts and the window (how
the figures behave: README.md, "Metrics and health"; where it sits: ARCHITECTURE.md).
"""

from .fleet import MODEL_SIZES, Fleet
from .health import (
    CRITICAL,
    HEALTH_WINDOWS,
    HEALTHY,
    NO_TRAFFIC,
    WARNING,
    Health,
    assess_health,
    combine,
    trailing_mean_volume,
    window_levels,
)
from .load import TIMEOUT_MS
from .metrics import Metrics, compute_metrics
from .profile import Traits
from .profile import traits as traits_of
from .reasons import Figures, health_reasons
from .rollout import rollout_fails, rollout_failure_reason
from .series import RANGES, compute_series
from .together import together
from .training import TrainingSchedule, loss_curve, training_failure_reason, training_schedule
from .windows import WINDOW_SECONDS, window_of

__all__ = [
    "CRITICAL",
    "HEALTHY",
    "HEALTH_WINDOWS",
    "MODEL_SIZES",
    "NO_TRAFFIC",
    "RANGES",
    "TIMEOUT_MS",
    "WARNING",
    "WINDOW_SECONDS",
    "Figures",
    "Fleet",
    "Health",
    "Metrics",
    "TrainingSchedule",
    "Traits",
    "assess_health",
    "combine",
    "compute_metrics",
    "compute_series",
    "health_reasons",
    "loss_curve",
    "rollout_fails",
    "rollout_failure_reason",
    "together",
    "trailing_mean_volume",
    "training_failure_reason",
    "training_schedule",
    "traits_of",
    "window_levels",
    "window_of",
]
