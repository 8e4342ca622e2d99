"""When the next time-driven change (a rollout finishing, a training job starting or ending) is due."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Deployment, FleetState, TrainingJob


async def due_and_revision(session: AsyncSession) -> tuple[datetime | None, int]:
    """The earliest scheduled change still to be written (None when none is), and the fleet revision.

    One round trip for both: every request checks the schedule, and its snapshot the revision.
    """
    rollout = select(func.min(Deployment.rollout_due_at)).where(
        Deployment.status == "DEPLOYING", Deployment.deleted_at.is_(None)
    )
    start = select(func.min(TrainingJob.scheduled_start_at)).where(
        TrainingJob.status == "QUEUED", TrainingJob.deleted_at.is_(None)
    )
    end = select(func.min(TrainingJob.scheduled_end_at)).where(
        TrainingJob.status == "RUNNING", TrainingJob.deleted_at.is_(None)
    )
    revision = select(FleetState.revision).where(FleetState.id == 1)
    *row, fleet_revision = (
        await session.execute(
            select(
                rollout.scalar_subquery(),
                start.scalar_subquery(),
                end.scalar_subquery(),
                revision.scalar_subquery(),
            )
        )
    ).one()
    found = [value for value in row if value is not None]
    return (min(found) if found else None), int(fleet_revision or 0)
