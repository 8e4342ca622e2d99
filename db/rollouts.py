"""Rollout rows: the model's baking one, its latest one, the steps due, and their events."""

import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DeploymentEvent, Rollout
from db.schedule import ROLLOUT_STEP
from domain import EventKind, RolloutState

_FRESH = {"populate_existing": True}  # rows move on by conditional UPDATEs: never the identity map's copy


async def baking(session: AsyncSession, model_name: str) -> Rollout | None:
    """The model's rollout in progress (one at most)."""
    stmt = select(Rollout).where(Rollout.model_name == model_name, Rollout.state == RolloutState.BAKING)
    return (await session.scalars(stmt.limit(1), execution_options=_FRESH)).first()


async def pending_for(session: AsyncSession, deployment_id: int) -> Rollout | None:
    """The rollout waiting for this (DEPLOYING) version's activation."""
    stmt = select(Rollout).where(
        Rollout.deployment_id == deployment_id, Rollout.state == RolloutState.BAKING, Rollout.steps == 0
    )
    return (await session.scalars(stmt.limit(1), execution_options=_FRESH)).first()


async def latest(session: AsyncSession, model_names: list[str]) -> dict[str, Rollout]:
    """Each model's newest rollout."""
    if not model_names:
        return {}
    newest = (
        select(func.max(Rollout.id))
        .where(Rollout.model_name.in_(list(set(model_names))))
        .group_by(Rollout.model_name)
    )
    stmt = select(Rollout).where(Rollout.id.in_(newest))
    return {row.model_name: row for row in (await session.scalars(stmt, execution_options=_FRESH)).all()}


async def due(session: AsyncSession, now: datetime) -> Rollout | None:
    """The earliest step due by `now` of a baking, started rollout."""
    stmt = (
        select(Rollout).where(*ROLLOUT_STEP.due_by(now)).order_by(Rollout.next_step_at, Rollout.id).limit(1)
    )
    return (await session.scalars(stmt, execution_options=_FRESH)).first()


def split_of(row: Rollout) -> dict[int, float]:
    return {int(k): float(v) for k, v in json.loads(row.before_split or "{}").items()}


def encode_split(split: Mapping[int, float]) -> str:
    return json.dumps({str(k): v for k, v in sorted(split.items())})


def event(
    session: AsyncSession,
    deployment_id: int,
    kind: EventKind,
    status: str,
    *,
    actor: str,
    at: datetime,
    message: str,
) -> None:
    """A rollout's event on its version (which stays in `status`)."""
    session.add(
        DeploymentEvent.staying(
            status, kind, actor=actor, at=at, message=message, deployment_id=deployment_id
        )
    )
