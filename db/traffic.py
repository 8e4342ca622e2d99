"""The traffic split between a model's versions: each version's stored share, and how moves change it.

Invariant: while any version of a model is ACTIVE, the shares of its ACTIVE versions sum to 100
(and every other version holds 0). Every change runs inside the writer's transaction, after the
write lock every transaction takes first (db/engine.py's data revision row, then the fleet revision
row): two racing moves on one model are serialised, and the second reads what the first wrote.
Each changed share gets its TRAFFIC_CHANGED event, with the actor, in the same transaction.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Deployment, DeploymentEvent
from domain import DeploymentStatus, EventKind, Move, Share

FULL = 100.0
_DIGITS = 4  # shares are kept to 1/10,000 of a percent; the largest takes the rounding remainder


@dataclass(frozen=True)
class Version:
    """One live version of a model as the split sees it."""

    id: int
    version: tuple[int, int, int]
    status: str
    percent: float


async def versions_of(session: AsyncSession, model_name: str) -> list[Version]:
    """The model's live versions, oldest first."""
    stmt = (
        select(
            Deployment.id,
            Deployment.version_major,
            Deployment.version_minor,
            Deployment.version_patch,
            Deployment.status,
            Deployment.traffic_percent,
        )
        .where(Deployment.model_name == model_name, Deployment.deleted_at.is_(None))
        .order_by(Deployment.version_major, Deployment.version_minor, Deployment.version_patch)
    )
    return [Version(r[0], (r[1], r[2], r[3]), r[4], float(r[5])) for r in (await session.execute(stmt)).all()]


def message(before: float, after: float, why: str) -> str:
    """A TRAFFIC_CHANGED event's message: "Traffic 100 % → 0 %: v1.3.0 activated"."""
    return f"Traffic {_label(before)} → {_label(after)}: {why}"


def _label(percent: float) -> str:
    return f"{round(percent, 2):g} %"


def rounded(shares: Mapping[int, float]) -> dict[int, float]:
    """Shares rounded, still summing to 100 exactly: the largest absorbs the rounding."""
    out = {i: round(p, _DIGITS) for i, p in shares.items()}
    if out:
        largest = max(out, key=lambda i: (out[i], i))
        out[largest] = round(FULL - sum(p for i, p in out.items() if i != largest), _DIGITS)
    return out


def after_move(versions: Sequence[Version], moved: int, share: Share) -> dict[int, float]:
    """Every live version's share once `moved` has made a move with this effect (statuses are after it)."""
    active = [v for v in versions if v.status == DeploymentStatus.ACTIVE]
    new = {v.id: 0.0 for v in versions}
    if not active:
        return new
    if share is Share.TAKE_ALL:
        new[moved] = FULL
        return new
    # STANDBY (the moved version holds 0 until given a share) or RELEASE (it left ACTIVE): the other
    # ACTIVE versions share all the traffic in proportion to what they had, or the newest takes it all.
    kept = {v.id: (0.0 if v.id == moved else v.percent) for v in active}
    total = sum(kept.values())
    if total <= 0:
        newest = max(active, key=lambda v: v.version)
        new[newest.id] = FULL
        return new
    new.update(rounded({i: p * FULL / total for i, p in kept.items()}))
    return new


async def write_split(
    session: AsyncSession,
    *,
    versions: Sequence[Version],
    shares: Mapping[int, float],
    actor: str,
    at: datetime,
    revision: int,
    why: str,
) -> list[int]:
    """Store the shares that changed, each with its TRAFFIC_CHANGED event; returns the ids changed."""
    changed = [v for v in versions if abs(shares.get(v.id, 0.0) - v.percent) > 1e-9]
    if not changed:
        return []
    latest = dict(
        (
            await session.execute(
                select(DeploymentEvent.deployment_id, func.max(DeploymentEvent.at))
                .where(DeploymentEvent.deployment_id.in_([v.id for v in changed]))
                .group_by(DeploymentEvent.deployment_id)
            )
        ).all()
    )
    for v in changed:
        to = shares.get(v.id, 0.0)
        await session.execute(
            update(Deployment)
            .where(Deployment.id == v.id)
            .values(traffic_percent=to, revision=revision)
            .execution_options(synchronize_session=False)
        )
        # Never stamped before the version's own latest event (one that waited for the lock behind it).
        stamp = max(at, latest[v.id]) if v.id in latest and latest[v.id] is not None else at
        session.add(
            DeploymentEvent.staying(
                v.status,
                EventKind.TRAFFIC_CHANGED,
                actor=actor,
                at=stamp,
                message=message(v.percent, to, why),
                deployment_id=v.id,
                traffic_from=v.percent,
                traffic_to=to,
            )
        )
    await session.flush()
    return [v.id for v in changed]


async def follow_move(
    session: AsyncSession,
    *,
    deployment_id: int,
    move: Move,
    actor: str,
    at: datetime,
    revision: int,
) -> None:
    """The default split change of a move just made (domain.Move.share), in the mover's transaction."""
    if move.share is None:
        return
    model_name = await session.scalar(select(Deployment.model_name).where(Deployment.id == deployment_id))
    assert model_name is not None, "a move is made by a live deployment"
    versions = await versions_of(session, model_name)
    mover = next(v for v in versions if v.id == deployment_id)
    why = f"v{'.'.join(map(str, mover.version))} {move.verb}"
    await write_split(
        session,
        versions=versions,
        shares=after_move(versions, deployment_id, move.share),
        actor=actor,
        at=at,
        revision=revision,
        why=why,
    )


_LOOK_BACK = 500  # traffic events read to find the last change (one change touches each version once)


async def last_change(session: AsyncSession, model_name: str) -> dict[int, float]:
    """The model's latest traffic change: each version it changed, with its share before it.

    Writers are serialised, so one change's events are the model's newest run of events with one
    instant and actor, each version at most once."""
    of_model = select(Deployment.id).where(Deployment.model_name == model_name)
    events = (
        await session.execute(
            select(
                DeploymentEvent.deployment_id,
                DeploymentEvent.at,
                DeploymentEvent.actor,
                DeploymentEvent.traffic_from,
            )
            .where(
                DeploymentEvent.kind == EventKind.TRAFFIC_CHANGED, DeploymentEvent.deployment_id.in_(of_model)
            )
            .order_by(DeploymentEvent.id.desc())
            .limit(_LOOK_BACK)
        )
    ).all()
    change: dict[int, float] = {}
    for deployment_id, at, actor, before in events:
        first = events[0]
        if deployment_id in change or (at, actor) != (first.at, first.actor):
            break
        change[deployment_id] = float(before or 0.0)
    return change
