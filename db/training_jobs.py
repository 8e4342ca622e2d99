"""Training job queries."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import folding, paging
from db.models import TrainingJob
from db.schedule import JOB_END
from domain import DEPLOYABLE_JOB_STATUS, JOB_STATUSES

SORT_KEYS: dict[str, tuple[paging.SortKey, ...]] = {
    "CREATED_AT": (paging.SortKey("created_at", datetime),),
    "COMPLETED_AT": (paging.SortKey("completed_at", datetime, nullable=True),),
    "MODEL_NAME": (paging.SortKey("model_name", str),),
    "STATUS": (paging.SortKey("status", int, rank=JOB_STATUSES),),
    "FINAL_LOSS": (paging.SortKey("final_loss", float, nullable=True),),
}
ID_KEY = paging.SortKey("id", int)


@dataclass(frozen=True)
class TrainingJobFilter:
    statuses: Sequence[str] | None = None
    model_name: str | None = None
    deployable: bool | None = None


def make_order(fields: Sequence[tuple[str, bool]]) -> paging.Order:
    """Sort keys for (field, descending) pairs; the id breaks ties in the last key's direction."""
    keys = [(key, desc) for field, desc in fields for key in SORT_KEYS[field]]
    keys.append((ID_KEY, fields[-1][1] if fields else False))
    return paging.Order(tuple(keys))


def _where(flt: TrainingJobFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [TrainingJob.deleted_at.is_(None)]
    if flt.statuses is not None:
        clauses.append(TrainingJob.status.in_(flt.statuses))
    if flt.model_name:
        clauses.append(folding.contains(TrainingJob.model_name_folded, flt.model_name))
    if flt.deployable is not None:
        complete = TrainingJob.status == DEPLOYABLE_JOB_STATUS
        clauses.append(complete if flt.deployable else ~complete)
    return clauses


async def list_jobs(
    *, session: AsyncSession, flt: TrainingJobFilter, order: paging.Order, page: paging.PageRequest
) -> paging.Page[TrainingJob]:
    return await paging.fetch_page(session, TrainingJob, _where(flt), order, page)


async def count_jobs(*, session: AsyncSession, flt: TrainingJobFilter) -> int:
    return await paging.count(session, TrainingJob, _where(flt))


async def get_jobs(
    *, session: AsyncSession, ids: Sequence[int], include_deleted: bool = False
) -> dict[int, TrainingJob]:
    stmt = select(TrainingJob).where(TrainingJob.id.in_(ids))
    if not include_deleted:
        stmt = stmt.where(TrainingJob.deleted_at.is_(None))
    return {row.id: row for row in (await session.scalars(stmt)).all()}


async def soft_delete(*, session: AsyncSession, job_id: int, at: datetime) -> bool:
    result = await session.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id, TrainingJob.deleted_at.is_(None))
        .values(deleted_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def create_job(*, session: AsyncSession, values: dict[str, Any]) -> TrainingJob:
    job = TrainingJob(**values)
    session.add(job)
    await session.flush()
    return job


async def due_ends(*, session: AsyncSession, now: datetime) -> list[TrainingJob]:
    """RUNNING jobs whose scheduled end has come."""
    stmt = select(TrainingJob).where(*JOB_END.due_by(now))
    return list((await session.scalars(stmt)).all())


async def transition(
    *, session: AsyncSession, job_id: int, from_statuses: Sequence[str], values: dict[str, Any]
) -> bool:
    """Update one live job if it is still in one of `from_statuses`; False when another writer won."""
    result = await session.execute(
        update(TrainingJob)
        .where(
            TrainingJob.id == job_id, TrainingJob.status.in_(from_statuses), TrainingJob.deleted_at.is_(None)
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
