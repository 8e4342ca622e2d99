"""The time-driven changes (a deploy finishing, a rollout step, a job starting or ending), each declared once:
which rows wait for it and when it is due; and when the next one is due."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Deployment, FleetState, Rollout, TrainingJob
from domain import DeploymentStatus, JobStatus, RolloutState


@dataclass(frozen=True)
class Scheduled:
    """One kind of time-driven change: the rows waiting for it, and their column saying when it is due."""

    at: Any  # the mapped column
    waiting: tuple[ColumnElement[bool], ...]

    def due_by(self, now: datetime) -> tuple[ColumnElement[bool], ...]:
        return (*self.waiting, self.at <= now)

    async def due(self, session: AsyncSession, now: datetime) -> list[tuple[int, datetime]]:
        """(id, due time) of every row whose change is due by `now`."""
        rows = await session.execute(select(self.at.class_.id, self.at).where(*self.due_by(now)))
        return [(i, at) for i, at in rows.all()]


DEPLOY_FINISH = Scheduled(
    Deployment.rollout_due_at,
    (Deployment.status == DeploymentStatus.DEPLOYING, Deployment.deleted_at.is_(None)),
)
JOB_START = Scheduled(
    TrainingJob.scheduled_start_at, (TrainingJob.status == JobStatus.QUEUED, TrainingJob.deleted_at.is_(None))
)
JOB_END = Scheduled(
    TrainingJob.scheduled_end_at, (TrainingJob.status == JobStatus.RUNNING, TrainingJob.deleted_at.is_(None))
)
ROLLOUT_STEP = Scheduled(Rollout.next_step_at, (Rollout.state == RolloutState.BAKING, Rollout.steps > 0))
SCHEDULED = (DEPLOY_FINISH, JOB_START, JOB_END, ROLLOUT_STEP)


@dataclass(frozen=True)
class Observed:
    """The database's data revision and its earliest due change, read in one statement (so they agree)."""

    data_revision: int
    due_at: datetime | None  # None: nothing is scheduled
    fleet_revision: int  # the deployments' revision: the fleet snapshot needs no query of its own


async def observe(session: AsyncSession) -> Observed:
    """The data revision and the earliest scheduled change still to be written, in one round trip."""
    earliest = [select(func.min(kind.at)).where(*kind.waiting).scalar_subquery() for kind in SCHEDULED]
    data = select(FleetState.data_revision).where(FleetState.id == 1)
    fleet = select(FleetState.revision).where(FleetState.id == 1)
    row = (await session.execute(select(data.scalar_subquery(), fleet.scalar_subquery(), *earliest))).one()
    found = [value for value in row[2:] if value is not None]
    return Observed(int(row[0] or 0), min(found) if found else None, int(row[1] or 0))
