"""Compact, columnar reads of the deployment fleet for the metrics cache: no ORM objects."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DEPLOYMENT_STATUSES, MODEL_SIZES, Deployment, DeploymentEvent, FleetState


@dataclass(frozen=True)
class FleetRows:
    """Deployments written after some revision, as parallel arrays (times are epoch seconds)."""

    ids: np.ndarray  # int64
    deleted: np.ndarray  # bool
    status: np.ndarray  # int8 index into DEPLOYMENT_STATUSES
    size: np.ndarray  # int8 index into MODEL_SIZES
    training_job_id: np.ndarray  # int64
    created_at: np.ndarray  # float64
    updated_at: np.ndarray  # float64
    activated_at: np.ndarray  # float64, NaN = never activated
    version: np.ndarray  # int64, shape (n, 3): major, minor, patch
    model_name: list[str]
    model_name_folded: list[str]  # as stored: what name filters match against
    # Pauses of these deployments: owner id, start, end (+inf while still paused).
    pause_owner: np.ndarray
    pause_start: np.ndarray
    pause_end: np.ndarray


async def revision(session: AsyncSession) -> int:
    return int((await session.scalar(select(FleetState.revision).where(FleetState.id == 1))) or 0)


def _epoch(values: list[object]) -> np.ndarray:
    return np.array([np.nan if v is None else v.timestamp() for v in values], dtype=np.float64)  # type: ignore[attr-defined]


async def changed_since(session: AsyncSession, since: int) -> FleetRows:
    """Every deployment (deleted ones too) written after revision `since`, with its pauses."""
    columns = (
        Deployment.id,
        Deployment.deleted_at,
        Deployment.status,
        Deployment.model_size,
        Deployment.training_job_id,
        Deployment.created_at,
        Deployment.updated_at,
        Deployment.activated_at,
        Deployment.version_major,
        Deployment.version_minor,
        Deployment.version_patch,
        Deployment.model_name,
        Deployment.model_name_folded,
    )
    rows = (
        await session.execute(select(*columns).where(Deployment.revision > since).order_by(Deployment.id))
    ).all()
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
    ids = np.array(cols[0], dtype=np.int64)
    status_code = {name: i for i, name in enumerate(DEPLOYMENT_STATUSES)}
    size_code = {name: i for i, name in enumerate(MODEL_SIZES)}
    owners, starts, ends = await _pauses(session, since)
    return FleetRows(
        ids=ids,
        deleted=np.array([v is not None for v in cols[1]], dtype=bool),
        status=np.array([status_code[v] for v in cols[2]], dtype=np.int8),
        size=np.array([size_code[v] for v in cols[3]], dtype=np.int8),
        training_job_id=np.array(cols[4], dtype=np.int64),
        created_at=_epoch(list(cols[5])),
        updated_at=_epoch(list(cols[6])),
        activated_at=_epoch(list(cols[7])),
        version=np.array(list(zip(cols[8], cols[9], cols[10], strict=True)), dtype=np.int64).reshape(-1, 3),
        model_name=list(cols[11]),
        model_name_folded=list(cols[12]),
        pause_owner=owners,
        pause_start=starts,
        pause_end=ends,
    )


async def _pauses(session: AsyncSession, since: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paused intervals, from each PAUSED event to the RESUMED event that follows it."""
    changed = select(Deployment.id).where(Deployment.revision > since)
    stmt = (
        select(DeploymentEvent.deployment_id, DeploymentEvent.kind, DeploymentEvent.at)
        .where(DeploymentEvent.kind.in_(("PAUSED", "RESUMED")), DeploymentEvent.deployment_id.in_(changed))
        .order_by(DeploymentEvent.deployment_id, DeploymentEvent.at, DeploymentEvent.id)
    )
    owners: list[int] = []
    starts: list[float] = []
    ends: list[float] = []
    for owner, kind, at in (await session.execute(stmt)).all():
        if kind == "PAUSED":
            owners.append(owner)
            starts.append(at.timestamp())
            ends.append(np.inf)
        elif owners and owners[-1] == owner and ends[-1] == np.inf:
            ends[-1] = at.timestamp()
    return np.array(owners, dtype=np.int64), np.array(starts), np.array(ends)
