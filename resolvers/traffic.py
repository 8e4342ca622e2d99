"""A version's status and traffic share at any instant, rebuilt from its audit trail.

The trail holds every move (its status after) and every TRAFFIC_CHANGED (its share before and
after), so the state at T is what the last event at or before T left. A version stored before the
split existed has no traffic events until its first change: its share until then is the one that
change started from, or its stored share when it never changed.
"""

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from db.models import Deployment, DeploymentEvent
from domain import DEPLOYMENT_STATUSES, STATUS_CODE, DeploymentStatus, EventKind
from resolvers.context import Context
from resolvers.metric_records import resolve_as_of
from resolvers.status_history import NOT_YET, statuses_at

STANDBY_REASON = "standby: 0 % of model traffic"
NOT_SERVING_REASON = "Not serving traffic"  # the simulator's reason for every version without traffic


def status_at(row: Deployment, trail: Sequence[DeploymentEvent], at: datetime) -> str | None:
    """Its status at `at`; None before it was created (the rule: resolvers/status_history.py)."""
    steps = [e for e in trail if e.to_status is not None]  # DELETED keeps the status (soft delete)
    code = statuses_at(
        np.array([row.created_at.timestamp()]),
        np.array([STATUS_CODE[row.status]], dtype=np.int8),
        np.zeros(len(steps), dtype=np.int64),
        np.array([e.at.timestamp() for e in steps], dtype=np.float64),
        np.array([STATUS_CODE[str(e.to_status)] for e in steps], dtype=np.int8),
        at.timestamp(),
    )[0]
    return None if code == NOT_YET else DEPLOYMENT_STATUSES[code]


def share_at(row: Deployment, trail: Sequence[DeploymentEvent], at: datetime) -> float:
    """Its share of its model's traffic at `at`, percent: 0 unless ACTIVE then."""
    if status_at(row, trail, at) != DeploymentStatus.ACTIVE:
        return 0.0
    changes = [e for e in trail if e.kind == EventKind.TRAFFIC_CHANGED]
    before = [e for e in changes if e.at <= at]
    if before:
        return float(before[-1].traffic_to or 0.0)
    if changes:
        return float(changes[0].traffic_from or 0.0)
    return float(row.traffic_percent)


async def traffic_percent(ctx: Context, row: Deployment, as_of: datetime | None) -> float:
    """The share at `as_of`, or now (the stored one) when it is not given."""
    if as_of is None:
        return float(row.traffic_percent)
    at = resolve_as_of(ctx.now, as_of)
    return share_at(row, await ctx.loaders.events.load(row.id), at)


async def status_at_instant(ctx: Context, row: Deployment, as_of: datetime) -> str | None:
    at = resolve_as_of(ctx.now, as_of)
    return status_at(row, await ctx.loaders.events.load(row.id), at)


async def health_reasons(ctx: Context, row: Deployment, at: datetime, reasons: list[str]) -> list[str]:
    """The simulator's reasons, where a version without traffic says why: an ACTIVE one stands by."""
    if reasons != [NOT_SERVING_REASON]:
        return reasons
    trail = await ctx.loaders.events.load(row.id)
    if status_at(row, trail, at) == DeploymentStatus.ACTIVE and share_at(row, trail, at) == 0.0:
        return [STANDBY_REASON]
    return reasons
