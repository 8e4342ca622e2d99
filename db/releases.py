"""Reads of models: a model is a model name, and what its versions (deployments) say about it."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import endpoints
from db.models import Deployment


@dataclass(frozen=True)
class ModelFacts:
    """One model as its stored versions describe it."""

    name: str
    first_id: int  # its first version's row id (deleted or not, never reused): the model's id
    slug: str  # of its endpoints: /api/inference/<slug>
    model_size: str  # its newest live version's
    live: bool  # it has a version that is not deleted


async def models_named(*, session: AsyncSession, names: Sequence[str]) -> dict[str, ModelFacts]:
    """The models of these names that have any version (deleted ones too)."""
    if not names:
        return {}
    stmt = select(
        Deployment.id,
        Deployment.model_name,
        Deployment.version_major,
        Deployment.version_minor,
        Deployment.version_patch,
        Deployment.model_size,
        Deployment.endpoint,
        Deployment.deleted_at,
    ).where(Deployment.model_name.in_(list(set(names))))
    rows = (await session.execute(stmt)).all()
    out: dict[str, ModelFacts] = {}
    for name in {r.model_name for r in rows}:
        mine = [r for r in rows if r.model_name == name]
        live = [r for r in mine if r.deleted_at is None]
        newest = max(live or mine, key=lambda r: (r.version_major, r.version_minor, r.version_patch))
        out[name] = ModelFacts(
            name=name,
            first_id=min(r.id for r in mine),
            slug=endpoints.slug_of(newest.endpoint),
            model_size=newest.model_size,
            live=bool(live),
        )
    return out


async def model_name_of(*, session: AsyncSession, deployment_id: int) -> str | None:
    """The model name of a deployment, deleted or not."""
    return await session.scalar(select(Deployment.model_name).where(Deployment.id == deployment_id))


async def versions_of(
    *, session: AsyncSession, model_name: str, include_deleted: bool = False
) -> list[Deployment]:
    """The model's versions, oldest first."""
    stmt = select(Deployment).where(Deployment.model_name == model_name)
    if not include_deleted:
        stmt = stmt.where(Deployment.deleted_at.is_(None))
    stmt = stmt.order_by(Deployment.version_major, Deployment.version_minor, Deployment.version_patch)
    return list((await session.scalars(stmt)).all())
