"""Choosing a rollout's outcome in tests: the guardrail's health is the simulator's pure function of the
version's stored facts and the window (resolvers/guardrail.py), so a test can find, before it starts a
rollout, a step instant at which the version's health is CRITICAL (its own rollout incident: about one
version in seven has one in its first two hours) or one at which it holds, and bake for that long."""

import math
from datetime import datetime, timedelta

from db import fleet_rows
from db.models import Deployment
from domain import Health
from resolvers import guardrail, ids
from simulator import WINDOW_SECONDS, Fleet
from tests.support import Api


async def _fleet(api: Api, deployment: str, start: datetime, percent: float) -> tuple[Fleet, datetime]:
    """The version's one-row fleet as it will be once it serves `percent` of its model's traffic from
    `start` on, and its activation."""
    row_id = ids.decode(deployment, "Deployment")
    async with api.db.read() as session:
        row = await session.get(Deployment, row_id)
        assert row is not None and row.activated_at is not None
        timeline = await fleet_rows.timeline(session, row_id)
        model_start = await fleet_rows.model_first_activation(session, row.model_name)
    off = [(a, start.timestamp() if math.isinf(b) else b) for a, b in timeline.off]
    shares = [*timeline.shares, (start.timestamp(), percent / 100)]
    return guardrail.fleet_of(row, fleet_rows.Timeline(off, shares), model_start), row.activated_at


async def critical_bake(api: Api, deployment: str, start: datetime, percent: float) -> int | None:
    """Bake seconds after which a rollout at `percent` started at `start` finds the version CRITICAL;
    None if never."""
    fleet, activated = await _fleet(api, deployment, start, percent)
    if int(fleet.traits.rollout_duration[0]) == 0:
        return None  # its rollout goes well
    first = int(fleet.traits.rollout_start[0])
    for minute in range(first, first + int(fleet.traits.rollout_duration[0]) + 6):
        at = activated + timedelta(seconds=minute * WINDOW_SECONDS + 30)
        bake = int((at - start).total_seconds())
        if bake > WINDOW_SECONDS and guardrail.verdict_of(fleet, at).health is Health.CRITICAL:
            return bake
    return None


async def holds_at(api: Api, deployment: str, start: datetime, percent: float, bakes: list[int]) -> bool:
    """Whether the version, at `percent` from `start` on, is not CRITICAL at each of these instants after it."""
    fleet, _ = await _fleet(api, deployment, start, percent)
    return all(
        guardrail.verdict_of(fleet, start + timedelta(seconds=b)).health is not Health.CRITICAL for b in bakes
    )
