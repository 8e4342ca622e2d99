"""A rollout's guardrail: the version's health at a step instant, as every replica computes it.

Health is the simulator's pure function of the version's stored facts (id, size, model, activation,
not-serving intervals, share steps, the model's first activation) and the window, so the one-version
fleet built here gives the health the snapshot shows for it (resolvers/metrics.py) at the same
instant, without the fleet snapshot.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import fleet_rows
from db.models import Deployment
from domain import HEALTH_LEVELS, MODEL_SIZES, Health
from resolvers.snapshot import model_key
from simulator import Figures, Fleet, assess_health, compute_metrics, health_reasons, window_of


@dataclass(frozen=True)
class Verdict:
    health: Health
    reason: str  # the health reasons, joined; empty when HEALTHY


def fleet_of(row: Deployment, timeline: fleet_rows.Timeline, model_start: float) -> Fleet:
    """The version alone, with its not-serving intervals, its share steps and its model's first activation."""
    activated = row.activated_at.timestamp() if row.activated_at is not None else np.nan
    return Fleet.build(
        ids=[row.id],
        size=[MODEL_SIZES.index(row.model_size)],  # type: ignore[arg-type]
        activated_at=[activated],
        off_intervals=[timeline.off],
        model=[model_key(row.model_name)],
        shares=[timeline.shares],
        model_activated_at=[model_start],
    )


def verdict_of(fleet: Fleet, at: datetime) -> Verdict:
    """Health of the fleet's only deployment in the window holding `at`, with its reasons."""
    window = int(window_of(at.timestamp()))
    pos = np.array([0], dtype=np.int64)
    m = compute_metrics(fleet, pos, np.array(window, dtype=np.int64))
    h = assess_health(fleet, pos, window, current=m)
    code = int(h.code[0])
    figures = Figures(
        p50=float(m.p50[0]),
        p95=float(m.p95[0]),
        error_rate=float(m.error_rate[0]),
        volume=float(m.request_volume[0]),
        trailing=float(h.trailing[0]),
        usual_p50=float(fleet.traits.usual_p50[0]),
        usual_p95=float(fleet.traits.usual_p95[0]),
    )
    reasons = health_reasons(h.levels[:, 0].tolist(), h.hits[:, 0].tolist(), figures, bool(m.serving[0]))
    return Verdict(HEALTH_LEVELS[code], "; ".join(reasons) if code else "")


async def verdict(session: AsyncSession, deployment_id: int, at: datetime) -> Verdict:
    row = await session.scalar(select(Deployment).where(Deployment.id == deployment_id))
    assert row is not None
    timeline = await fleet_rows.timeline(session, deployment_id)
    model_start = await fleet_rows.model_first_activation(session, row.model_name)
    return verdict_of(fleet_of(row, timeline, model_start), at)
