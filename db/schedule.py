"""When the next time-driven change (a deploy finishing, a rollout step, a job starting or ending) is due."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Deployment, FleetState, Rollout, TrainingJob
from domain import DeploymentStatus, JobStatus, RolloutState


@dataclass(frozen=True)
class Observed:
    """The database's data revision and its earliest due change, read in one statement (so they agree)."""

    data_revision: int
    due_at: datetime | None  # None: nothing is scheduled
    fleet_revision: int  # the deployments' revision: the fleet snapshot needs no query of its own


async def observe(session: AsyncSession) -> Observed:
    """The data revision and the earliest scheduled change still to be written, in one round trip."""
    rollout = select(func.min(Deployment.rollout_due_at)).where(
        Deployment.status == DeploymentStatus.DEPLOYING, Deployment.deleted_at.is_(None)
    )
    start = select(func.min(TrainingJob.scheduled_start_at)).where(
        TrainingJob.status == JobStatus.QUEUED, TrainingJob.deleted_at.is_(None)
    )
    end = select(func.min(TrainingJob.scheduled_end_at)).where(
        TrainingJob.status == JobStatus.RUNNING, TrainingJob.deleted_at.is_(None)
    )
    step = select(func.min(Rollout.next_step_at)).where(
        Rollout.state == RolloutState.BAKING, Rollout.steps > 0
    )
    data = select(FleetState.data_revision).where(FleetState.id == 1)
    fleet = select(FleetState.revision).where(FleetState.id == 1)
    row = (
        await session.execute(
            select(
                data.scalar_subquery(),
                fleet.scalar_subquery(),
                rollout.scalar_subquery(),
                start.scalar_subquery(),
                end.scalar_subquery(),
                step.scalar_subquery(),
            )
        )
    ).one()
    found = [value for value in row[2:] if value is not None]
    return Observed(int(row[0] or 0), min(found) if found else None, int(row[1] or 0))
