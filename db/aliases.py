"""Model aliases: named pointers to one version each (production, staging), and their audit events."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Deployment, DeploymentEvent, ModelAlias
from domain import EventKind


async def of_model(*, session: AsyncSession, model_name: str) -> list[ModelAlias]:
    """The model's aliases, by name."""
    stmt = select(ModelAlias).where(ModelAlias.model_name == model_name).order_by(ModelAlias.alias)
    return list((await session.scalars(stmt)).all())


async def names_of(*, session: AsyncSession, deployment_ids: Sequence[int]) -> dict[int, list[str]]:
    """The aliases pointing at each of these deployments, by name."""
    stmt = (
        select(ModelAlias.deployment_id, ModelAlias.alias)
        .where(ModelAlias.deployment_id.in_(deployment_ids))
        .order_by(ModelAlias.alias)
    )
    out: dict[int, list[str]] = {i: [] for i in deployment_ids}
    for deployment_id, alias in (await session.execute(stmt)).all():
        out[deployment_id].append(alias)
    return out


def _event(target: Deployment, kind: EventKind, actor: str, at: datetime, message: str) -> DeploymentEvent:
    return DeploymentEvent.staying(
        target.status, kind, actor=actor, at=at, message=message, deployment_id=target.id
    )


async def set_alias(
    *, session: AsyncSession, target: Deployment, alias: str, actor: str, at: datetime
) -> None:
    """Point `alias` of the target's model at it: ALIAS_SET there, ALIAS_REMOVED where it pointed before."""
    held = await session.scalar(
        select(ModelAlias).where(ModelAlias.model_name == target.model_name, ModelAlias.alias == alias)
    )
    if held is not None and held.deployment_id == target.id:
        held.updated_at, held.updated_by = at, actor
        await session.flush()
        return
    if held is None:
        session.add(
            ModelAlias(
                model_name=target.model_name,
                alias=alias,
                deployment_id=target.id,
                updated_at=at,
                updated_by=actor,
            )
        )
        session.add(_event(target, EventKind.ALIAS_SET, actor, at, f"Alias {alias} → {target.version}"))
    else:
        before = await session.get(Deployment, held.deployment_id)
        assert before is not None, "an alias points at a stored deployment (foreign key)"
        held.deployment_id, held.updated_at, held.updated_by = target.id, at, actor
        session.add(
            _event(before, EventKind.ALIAS_REMOVED, actor, at, f"Alias {alias} moved to {target.version}")
        )
        session.add(
            _event(
                target,
                EventKind.ALIAS_SET,
                actor,
                at,
                f"Alias {alias} → {target.version} (was {before.version})",
            )
        )
    await session.flush()


async def remove_alias(
    *, session: AsyncSession, model_name: str, alias: str, actor: str, at: datetime
) -> bool:
    """Remove the model's alias, with ALIAS_REMOVED on the version it pointed at; False when there is none."""
    held = await session.scalar(
        select(ModelAlias).where(ModelAlias.model_name == model_name, ModelAlias.alias == alias)
    )
    if held is None:
        return False
    target = await session.get(Deployment, held.deployment_id)
    assert target is not None, "an alias points at a stored deployment (foreign key)"
    await session.execute(delete(ModelAlias).where(ModelAlias.id == held.id))
    session.add(
        _event(target, EventKind.ALIAS_REMOVED, actor, at, f"Alias {alias} removed from {target.version}")
    )
    await session.flush()
    return True
