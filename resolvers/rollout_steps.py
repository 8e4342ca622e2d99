"""A rollout's moves: its first step, each step due, its promotion, its rollback and its stop.

Each writes the split (db/traffic.py write_split: TRAFFIC_CHANGED events) and the rollout's own
event (ROLLOUT_PROMOTED, ROLLED_BACK) with its actor, in the caller's transaction, behind the write
lock; the rollout row moves on with a conditional UPDATE from the step it was read at.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import rollouts as rows
from db import traffic
from db.deployments import bump_revision
from db.models import Deployment, Rollout
from domain import EventKind, Health, RolloutState, RolloutStrategy
from resolvers import guardrail
from resolvers.rollouts import ACTIVE, SYSTEM_ACTOR, advance, named, restored, target, with_share


async def set_split(
    session: AsyncSession,
    versions: Sequence[traffic.Version],
    shares: Mapping[int, float],
    *,
    actor: str,
    at: datetime,
    why: str,
) -> None:
    """The model's new split, with its TRAFFIC_CHANGED events, under a new fleet revision."""
    revision = await bump_revision(session)
    await traffic.write_split(
        session, versions=versions, shares=shares, actor=actor, at=at, revision=revision, why=why
    )


async def _rolled_back(
    session: AsyncSession,
    row: Rollout,
    status: str | None,
    *,
    actor: str,
    at: datetime,
    why: str,
    message: str,
    **moved: object,
) -> bool:
    """The rollout ends ROLLED_BACK with its event (none for a deleted version, `status` None); False
    when another writer moved it on first."""
    if not await advance(
        session, row, state=RolloutState.ROLLED_BACK, next_step_at=None, reason=why, **moved
    ):
        return False
    if status is not None:
        rows.event(
            session, row.deployment_id, EventKind.ROLLED_BACK, status, actor=actor, at=at, message=message
        )
    return True


async def begin(session: AsyncSession, row: Rollout, *, actor: str, at: datetime) -> None:
    """The version (ACTIVE now) takes its first share; alone in its model, it is promoted at once."""
    versions = await traffic.versions_of(session, row.model_name)
    canary = next(v for v in versions if v.id == row.deployment_id)
    before = {v.id: v.percent for v in versions if v.status == ACTIVE}
    alone = not any(v.status == ACTIVE and v.id != canary.id for v in versions)
    all_at_once = row.strategy == RolloutStrategy.ALL_AT_ONCE
    percent = traffic.FULL if alone or all_at_once else target(row, 1, canary.percent)
    done = percent >= traffic.FULL
    await advance(
        session,
        row,
        steps=1,
        percent=percent,
        before_split=rows.encode_split(before),
        state=RolloutState.PROMOTED if done else RolloutState.BAKING,
        next_step_at=None if done else at + timedelta(seconds=row.bake_seconds),
    )
    why = f"{named(canary.version)} {'promoted' if done else 'rollout step 1'}"
    await set_split(session, versions, with_share(versions, canary.id, percent), actor=actor, at=at, why=why)
    if done:
        how = "all at once" if all_at_once and not alone else "the model's only ACTIVE version"
        message = f"{named(canary.version)} promoted at once: {how}"
        rows.event(
            session, canary.id, EventKind.ROLLOUT_PROMOTED, ACTIVE, actor=actor, at=at, message=message
        )
    await session.flush()


async def step(session: AsyncSession, row: Rollout) -> bool:
    """The rollout's step due at `row.next_step_at`: rolled back on CRITICAL health, else on (or promoted)."""
    at = row.next_step_at
    assert at is not None
    versions = await traffic.versions_of(session, row.model_name)
    canary = next((v for v in versions if v.id == row.deployment_id), None)
    if canary is None or canary.status != ACTIVE:
        why = f"the version is {'deleted' if canary is None else canary.status}: the rollout stopped"
        status = None if canary is None else canary.status
        message = f"Rollout stopped: {why}"
        return await _rolled_back(session, row, status, actor=SYSTEM_ACTOR, at=at, why=why, message=message)
    name = named(canary.version)
    verdict = await guardrail.verdict(session, canary.id, at)
    if verdict.health is Health.CRITICAL:
        why = f"Health CRITICAL while baking at {row.percent:g} %: {verdict.reason}"
        shares = restored(versions, rows.split_of(row), canary.id)
        message = f"Rolled back: {why}"
        if not await _rolled_back(
            session,
            row,
            ACTIVE,
            actor=SYSTEM_ACTOR,
            at=at,
            why=why,
            message=message,
            percent=shares[canary.id],
        ):
            return False
        why = f"{name} rolled back (health CRITICAL)"
        await set_split(session, versions, shares, actor=SYSTEM_ACTOR, at=at, why=why)
        return True
    percent = target(row, row.steps + 1, canary.percent)
    done = percent >= traffic.FULL
    if not await advance(
        session,
        row,
        steps=row.steps + 1,
        percent=percent,
        state=RolloutState.PROMOTED if done else RolloutState.BAKING,
        next_step_at=None if done else at + timedelta(seconds=row.bake_seconds),
    ):
        return False
    why = f"{name} {'promoted' if done else f'rollout step {row.steps + 1}'}"
    await set_split(
        session, versions, with_share(versions, canary.id, percent), actor=SYSTEM_ACTOR, at=at, why=why
    )
    if done:
        message = f"{name} held through its rollout: promoted to 100 %"
        rows.event(
            session, canary.id, EventKind.ROLLOUT_PROMOTED, ACTIVE, actor=SYSTEM_ACTOR, at=at, message=message
        )
    await session.flush()
    return True


async def stop(
    session: AsyncSession, model_name: str, *, actor: str, at: datetime, why: str, of: int | None = None
) -> None:
    """Stop the model's baking rollout (only if it is version `of`'s, when given), leaving the split to
    the caller (setTrafficSplit, rollbackModel, a pause of the version)."""
    row = await rows.baking(session, model_name)
    if row is None or (of is not None and row.deployment_id != of):
        return
    status = await _status(session, row.deployment_id)
    reason = f"Stopped by {actor}: {why}"
    message = f"Rollout {reason[0].lower()}{reason[1:]}"
    if await _rolled_back(session, row, status, actor=actor, at=at, why=reason, message=message):
        await session.flush()


async def _status(session: AsyncSession, deployment_id: int) -> str:
    return str(await session.scalar(select(Deployment.status).where(Deployment.id == deployment_id)))


async def due_steps(session: AsyncSession, now: datetime) -> int:
    """Every rollout step due by `now`, earliest first (a step may make the next one due as well)."""
    written = 0
    while (row := await rows.due(session, now)) is not None:
        if not await step(session, row):
            break
        written += 1
    return written
