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


async def _fleet(api: Api, deployment: str, start: datetime) -> tuple[Fleet, datetime]:
    """The version's one-row fleet as it will be once it serves from `start` on, and its activation."""
    row_id = ids.decode(deployment, "Deployment")
    async with api.db.read() as session:
        row = await session.get(Deployment, row_id)
        assert row is not None and row.activated_at is not None
        off = await fleet_rows.off_intervals(session, row_id)
    off = [(a, start.timestamp() if math.isinf(b) else b) for a, b in off]
    return guardrail.fleet_of(row, off), row.activated_at


async def critical_bake(api: Api, deployment: str, start: datetime) -> int | None:
    """Bake seconds after which a rollout started at `start` finds the version CRITICAL; None if never."""
    fleet, activated = await _fleet(api, deployment, start)
    if int(fleet.traits.rollout_duration[0]) == 0:
        return None  # its rollout goes well
    first = int(fleet.traits.rollout_start[0])
    for minute in range(first, first + int(fleet.traits.rollout_duration[0]) + 6):
        at = activated + timedelta(seconds=minute * WINDOW_SECONDS + 30)
        bake = int((at - start).total_seconds())
        if bake > WINDOW_SECONDS and guardrail.verdict_of(fleet, at).health is Health.CRITICAL:
            return bake
    return None


async def holds_at(api: Api, deployment: str, start: datetime, bakes: list[int]) -> bool:
    """Whether the version is not CRITICAL at each of these instants after `start`."""
    fleet, _ = await _fleet(api, deployment, start)
    return all(
        guardrail.verdict_of(fleet, start + timedelta(seconds=b)).health is not Health.CRITICAL for b in bakes
    )
