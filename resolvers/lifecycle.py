"""Time-driven transitions, applied lazily at the start of each request.

Rollouts and training runs are scheduled when they are created, and their outcomes are
fixed functions of their ids, so any process that settles a due transition writes the same
change at the same (scheduled) instant; conditional UPDATEs let exactly one of several
racing processes write it. One mechanism for every time-driven change: a job whose time
has come is COMPLETE in every field, filter and count of the response, on every replica.
"""

import logging
from datetime import datetime

import numpy as np

from db import deployments, schedule
from db.engine import Database, DatabaseBusy
from resolvers.training import settle_jobs
from simulator import rollout_fails, rollout_failure_reason

SYSTEM_ACTOR = "system"
log = logging.getLogger("deploydeck.lifecycle")


async def settle(db: Database, now: datetime) -> None:
    """Finish every simulated rollout and training step that is due by `now`."""
    async with db.read() as session:
        due_at = await schedule.earliest_due(session)
        if due_at is None or due_at > now:
            return  # the common case: one small query per request
        due = await deployments.due_rollouts(session=session, now=now)
    try:
        await _write(db, now, due)
    except DatabaseBusy:
        # Another writer holds the lock: the next request settles these; reads go on meanwhile.
        log.warning("database busy: due transitions left for the next request")


async def _write(db: Database, now: datetime, due: list[tuple[int, datetime]]) -> None:
    fails = rollout_fails(np.array([row_id for row_id, _ in due], dtype=np.int64))
    async with db.write() as session:
        await settle_jobs(session, now)
        for (row_id, due_at), failed in zip(due, fails.tolist(), strict=True):
            if failed:
                await deployments.transition(
                    session=session,
                    deployment_id=row_id,
                    from_status="DEPLOYING",
                    to_status="FAILED",
                    kind="FAILED",
                    actor=SYSTEM_ACTOR,
                    at=due_at,
                    reason=rollout_failure_reason(row_id),
                )
            else:
                await deployments.transition(
                    session=session,
                    deployment_id=row_id,
                    from_status="DEPLOYING",
                    to_status="ACTIVE",
                    kind="ACTIVATED",
                    actor=SYSTEM_ACTOR,
                    at=due_at,
                    message="Rollout finished",
                )
