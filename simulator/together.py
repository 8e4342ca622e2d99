"""A model's figures: the figures of its versions together, as callers of the model's endpoint see them.

Counts, volumes, tokens and replicas add; the error rate comes from the summed counts; utilisation is
the replica-weighted mean over serving versions; percentiles are those of the versions' request-weighted
mixture (each version's latency a log-normal fitted to its P50 and P95, or P99), as chart steps combine
their windows (simulator/series.py).
"""

import numpy as np

from .metrics import Metrics, error_rate_percent
from .series import mixture_percentiles


def together(m: Metrics) -> Metrics:
    """One row of figures per row of `m` (shape (rows, versions)): its versions' figures combined."""
    counts = m.request_count.sum(axis=1)
    errors = m.error_count.sum(axis=1)
    serving = m.serving.any(axis=1)
    replicas = np.where(m.serving, m.replicas, 0.0)
    busy = np.where(m.serving, m.utilization * m.replicas, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = np.where(serving, busy / replicas.sum(axis=1), np.nan)
    p50, p95, p99, ttft_p50 = mixture_percentiles(m)
    with np.errstate(invalid="ignore"):
        ttft_p95 = np.minimum(ttft_p50 * (p95 / p50), p95)
    return Metrics(
        window=m.window[:, 0].copy(),
        request_count=counts,
        request_volume=m.request_volume.sum(axis=1),
        error_count=errors,
        p50=p50,
        p95=p95,
        p99=p99,
        error_rate=error_rate_percent(errors, counts),
        serving=serving,
        ttft_p50=ttft_p50,
        ttft_p95=ttft_p95,
        tokens_per_second=m.tokens_per_second.sum(axis=1),
        replicas=replicas.sum(axis=1),
        utilization=utilisation,
    )
