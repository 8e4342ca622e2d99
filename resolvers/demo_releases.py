"""The demo's release scenes (db/demo_releases.py), played on the loaded rows with the real functions.

Each scene is written as the mutation or the time-driven step would have written it at its instant,
in time order: setTrafficSplit's and rollbackModel's changes (resolvers/split_mutations.py),
setModelAlias's (db/aliases.py), deployJob's planned rollout (resolvers/rollouts.py) and the
deploy finishing with its first step (resolvers/lifecycle.py, resolvers/rollout_steps.py), in the
loading transaction. The canary is the first candidate whose simulated health (the guardrail's, the
one its step will check) stays below CRITICAL through its whole bake, so it is still baking while a
user explores the demo and holds at its step.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import aliases, fleet_rows, traffic
from db import demo_releases as R
from db.models import Deployment
from domain import DeploymentStatus, Health, RolloutStrategy
from resolvers import guardrail, lifecycle, rollouts, split_mutations
from simulator import WINDOW_SECONDS


async def play(session: AsyncSession, scenes: Sequence[R.Scene]) -> None:
    """Every scene, in time order (they are sorted so)."""
    canary = await _canary(session, [s for s in scenes if s.kind == R.DEPLOY and s.candidate])
    for scene in scenes:
        if scene.kind == R.SET_SPLIT:
            await _split(session, scene)
        elif scene.kind == R.SET_ALIAS:
            await _alias(session, scene)
        elif scene.kind == R.DEPLOY:
            await _deploy(session, scene, rollout=not scene.candidate or scene is canary)
        elif scene.kind == R.ROLL_BACK:
            versions = await traffic.versions_of(session, scene.model)
            await split_mutations.write_rollback(
                session, scene.model, versions, actor=scene.actor, at=scene.at
            )
    await session.flush()


async def _version(session: AsyncSession, model: str, minor: int) -> Deployment:
    row = await session.scalar(
        select(Deployment)
        .where(
            Deployment.model_name == model, Deployment.version_major == 1, Deployment.version_minor == minor
        )
        .execution_options(populate_existing=True)  # moved by UPDATEs since it was loaded
    )
    assert row is not None, (model, minor)
    return row


def holds(row: Deployment, activated: datetime, scene: R.Scene, model_start: float) -> bool:
    """Whether a version activated then, serving the scene's share of its model's traffic, stays below
    CRITICAL in every window of its bake (and its step)."""
    fleet = guardrail.fleet_of(
        Deployment(id=row.id, model_name=row.model_name, model_size=row.model_size, activated_at=activated),
        fleet_rows.Timeline(off=[], shares=[(activated.timestamp(), scene.percent / 100)]),
        model_start,
    )
    bake_seconds = scene.bake_seconds
    windows = range(0, bake_seconds + WINDOW_SECONDS, WINDOW_SECONDS)
    return all(
        guardrail.verdict_of(fleet, activated + timedelta(seconds=s)).health is not Health.CRITICAL
        for s in windows
    )


async def _canary(session: AsyncSession, candidates: Sequence[R.Scene]) -> R.Scene | None:
    """The first candidate that holds through its bake (the first, should none)."""
    for scene in candidates:
        row = await _version(session, scene.model, scene.minors[0])
        assert row.rollout_due_at is not None
        # The model's traffic started with its first version (or starts with this one).
        due = row.rollout_due_at.timestamp()
        model_start = await fleet_rows.model_first_activation(session, scene.model)
        if holds(row, row.rollout_due_at, scene, due if not model_start <= due else model_start):
            return scene
    return candidates[0] if candidates else None


async def _split(session: AsyncSession, scene: R.Scene) -> None:
    versions = await traffic.versions_of(session, scene.model)
    by_minor = {v.version[1]: v for v in versions}
    wanted = {by_minor[m].id: p for m, p in zip(scene.minors, scene.shares, strict=True)}
    assert all(by_minor[m].status == DeploymentStatus.ACTIVE for m in scene.minors), scene
    await split_mutations.write_set_split(
        session, scene.model, versions, wanted, actor=scene.actor, at=scene.at
    )


async def _alias(session: AsyncSession, scene: R.Scene) -> None:
    """production to the version carrying the most traffic (the older on a tie); staging to the newest
    ACTIVE one when that is another. Nothing when it points there already."""
    versions = [
        v for v in await traffic.versions_of(session, scene.model) if v.status == DeploymentStatus.ACTIVE
    ]
    if not versions:
        return
    serving = max(versions, key=lambda v: (v.percent, tuple(-n for n in v.version)))
    newest = max(versions, key=lambda v: v.version)
    target = serving if scene.alias == R.PRODUCTION else newest
    if scene.alias == R.STAGING and target.id == serving.id:
        return
    held = {a.alias: a.deployment_id for a in await aliases.of_model(session=session, model_name=scene.model)}
    if held.get(scene.alias) == target.id:
        return
    row = await session.get(Deployment, target.id, populate_existing=True)
    assert row is not None
    await aliases.set_alias(session=session, target=row, alias=scene.alias, actor=scene.actor, at=scene.at)


async def _deploy(session: AsyncSession, scene: R.Scene, *, rollout: bool) -> None:
    """deployJob's rollout plan (with `rollout`), then the deploy finishing at its due instant."""
    row = await _version(session, scene.model, scene.minors[0])
    assert row.rollout_due_at is not None and row.status == DeploymentStatus.DEPLOYING
    row_id, due = row.id, row.rollout_due_at
    if rollout:
        await rollouts.plan(
            session,
            deployment_id=row_id,
            model_name=row.model_name,
            version=row.version,
            spec=rollouts.Spec(RolloutStrategy.CANARY, scene.percent, scene.bake_seconds),
            actor=scene.actor,
            at=scene.at,
        )
    assert await lifecycle.finish_deploying(session, row_id, due, failed=False) == 1
