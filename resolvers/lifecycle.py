"""Time-driven transitions, applied lazily at the start of each request.

A rollout's outcome and finish time are facts fixed at deploy time, so any process that
settles a due deployment writes the same transition at the same (scheduled) instant; the
conditional UPDATE lets exactly one of several racing processes write it.
"""

from datetime import datetime

import numpy as np

from db import deployments
from db.engine import Database
from simulator import rollout_fails, rollout_failure_reason

SYSTEM_ACTOR = "system"


async def settle(db: Database, now: datetime) -> None:
    """Finish every simulated rollout that is due by `now`."""
    async with db.read() as session:
        due = await deployments.due_rollouts(session=session, now=now)
    if not due:
        return
    fails = rollout_fails(np.array([row_id for row_id, _ in due], dtype=np.int64))
    async with db.write() as session:
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
