"""Demo data: rows from db/demo.py, with the simulated parts (schedules, losses) filled in and its
release scenes played (resolvers/demo_releases.py)."""

from datetime import datetime

from sqlalchemy import select

from db import demo
from db.engine import Database
from db.models import TrainingJob
from domain import JobStatus
from resolvers import demo_releases, training_progress


async def load(db: Database, now: datetime, time_scale: float) -> bool:
    """Load the demo into an empty database (in one transaction); False when it was not empty.

    Replicas starting together on one empty database take turns: the first loads it, the others find
    it there.
    """
    async with db.startup_write() as session:
        if not await demo.is_empty(session):
            return False
        scenes = await demo.load_demo(session, now)
        for job in (await session.scalars(select(TrainingJob))).all():
            if job.status == JobStatus.COMPLETE:
                job.final_loss = training_progress.final_loss(job)
            elif job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                plan = training_progress.schedule(job.id, job.model_size, job.epochs, now, time_scale)
                if job.status == JobStatus.RUNNING:
                    # Already part-way through its run: shift the plan back to match its progress.
                    span = plan["scheduled_end_at"] - plan["scheduled_start_at"]
                    ran = span * (job.progress / plan["planned_progress"])
                    shift = plan["scheduled_start_at"] - (now - ran)
                    plan["scheduled_start_at"] -= shift
                    plan["scheduled_end_at"] -= shift
                    job.started_at = plan["scheduled_start_at"]
                for key, value in plan.items():
                    setattr(job, key, value)
        await demo_releases.play(session, scenes)
    return True
