"""A model's figures: the figures of its versions together, as callers of the model's endpoint see them.

Counts, volumes, tokens and replicas add (a standby's idle replicas too); the error rate comes from the
summed counts; utilisation is the replica-weighted mean over serving versions; percentiles are those of
the versions' request-weighted mixture (each version's latency a log-normal fitted to its P50 and P95, or
P99), as chart steps combine their windows (simulator/series.py).
"""

import numpy as np

from .metrics import Metrics
from .series import combined_figures


def together(m: Metrics) -> Metrics:
    """One row of figures per row of `m` (shape (rows, versions)): its versions' figures combined."""
    figures, counts = combined_figures(m)
    serving_replicas = np.where(m.serving, m.replicas, 0.0)
    busy = np.where(m.serving, m.utilization * m.replicas, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = np.where(figures["serving"], busy / serving_replicas.sum(axis=1), np.nan)
    return Metrics(
        window=m.window[:, 0].copy(),
        request_count=counts,
        request_volume=m.request_volume.sum(axis=1),
        tokens_per_second=m.tokens_per_second.sum(axis=1),
        replicas=m.replicas.sum(axis=1),  # a standby's idle replicas run too (none where none run)
        utilization=utilisation,
        **figures,
    )
