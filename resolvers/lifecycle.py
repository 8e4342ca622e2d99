"""Time-driven transitions, applied lazily at the start of each request.

Rollouts and training runs are scheduled when they are created, and their outcomes are
fixed functions of their ids, so any process that settles a due transition writes the same
change at the same (scheduled) instant; conditional UPDATEs let exactly one of several
racing processes write it. One mechanism for every time-driven change: a job whose time
has come is COMPLETE in every field, filter and count of the response, on every replica.

Settling never holds up or fails a read. A request writes what is due only when it can take
the write lock at once (the common case: a few milliseconds); when another writer holds it
(another process, or a mutation of this one, which may itself be waiting for another process),
the request reads the committed state and one background task per process writes the
transitions as soon as the lock frees. Waiting instead is what made every read of a process
queue for the busy timeout, one after another. A database that refuses writes (read-only,
full) leaves them for a later request.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from db import deployments, releases, schedule
from db import rollouts as rollout_rows
from db.engine import Database, DatabaseBusy, DatabaseUnavailable
from db.faults import WritesRefused
from domain import ACTIVATE, FAIL_ROLLOUT
from resolvers import rollout_steps
from resolvers.training_progress import settle_jobs
from simulator import rollout_fails, rollout_failure_reason

SYSTEM_ACTOR = "system"
log = logging.getLogger("deploydeck.lifecycle")


@dataclass(frozen=True)
class Check:
    """What a request's settling saw."""

    observed: schedule.Observed | None  # None while a background write is pending
    # Its query started after the request and found nothing due: no write can be missing from it, so
    # its fleet revision is the request's (the snapshot is checked against it, with no query of its own).
    current: bool
    # The number of the latest attempt started before this request's (None while a background write
    # is pending): an attempt numbered above it started after the request arrived.
    since: int | None = None


def _due(observed: schedule.Observed, now: datetime) -> bool:
    return observed.due_at is not None and observed.due_at <= now


class Settler:
    """Settles due transitions for one process: at most one attempt, or one background write, at a time."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._attempt: asyncio.Future[schedule.Observed] | None = None
        self._started = 0  # attempts started so far: the number of the latest one
        self._background: asyncio.Task[None] | None = None
        self.settled = 0  # transitions this process wrote and committed (for /metrics)

    async def settle(self, db: Database, now: datetime, *, fresh: bool = False) -> "Check":
        """Write what is due by `now` if that needs no waiting for a lock; never raises for the write.

        Returns what the attempt's query saw (the revisions, the earliest due change), or nothing while
        a background write is pending (the committed state is behind the schedule). `fresh`: the query
        must have started after this call, so a write acknowledged before the request is in what it saw
        (the response cache serves by it; joining an attempt already in flight could miss that write).
        Raises DatabaseUnavailable when the database cannot even be read (the request would fail anyway).
        """
        if self._pending():
            return Check(None, current=False)  # being written beside the reads; they see the committed state
        before = self._started
        observed, number = await self._observe(db, now, before + 1 if fresh else 0)
        return Check(observed, current=number > before and not _due(observed, now), since=before)

    async def revision_since(self, db: Database, now: datetime, since: int) -> int | None:
        """The fleet revision an attempt started after attempt number `since` read (one is started if needed).

        For a request that joined an attempt already in flight and then reads the fleet: the requests
        reading it together share one later check instead of a revision query each, and a request that
        never reads the fleet (`{ serverTime }`) never waits for it. None when what the attempt saw is
        behind a write (due transitions, a background write): the caller reads the revision itself.
        """
        if self._pending():
            return None
        observed, _ = await self._observe(db, now, since + 1)
        return None if _due(observed, now) else observed.fleet_revision

    def _pending(self) -> bool:
        return self._background is not None and not self._background.done()

    async def _observe(self, db: Database, now: datetime, wanted: int) -> tuple[schedule.Observed, int]:
        """What the first attempt numbered `wanted` or later saw, and its number."""
        while True:
            if self._attempt is None or self._attempt.done():
                self._started += 1
                self._attempt = asyncio.ensure_future(self._try(db, now))
            number, attempt = self._started, self._attempt
            # Concurrent requests join the one attempt (one check, at most one write); it never waits
            # for a lock, so neither do they. Shielded: a cancelled request does not cancel the others'.
            observed = await asyncio.shield(attempt)
            if number >= wanted:
                return observed, number

    async def _try(self, db: Database, now: datetime) -> schedule.Observed:
        async with db.read(one_statement=True) as session:
            observed = await schedule.observe(session)
        if observed.due_at is None or observed.due_at > now:
            return observed  # the common case: one small query per request
        try:
            self.settled += await write_due(db, now, wait=False)
        except DatabaseBusy:
            self._background = asyncio.create_task(self._write_later(db))
        except Exception as exc:  # whatever it is, the read goes on
            _log_failure(exc)
        return observed  # due by now: what it saw is behind the write (the cache stores nothing by it)

    async def _write_later(self, db: Database) -> None:
        try:
            self.settled += await write_due(db, self.clock(), wait=True)
        except Exception as exc:  # a background task has no caller to tell
            _log_failure(exc)

    async def drain(self) -> None:
        """Let a write in flight finish (at shutdown, before the engine is closed)."""
        for task in (self._attempt, self._background):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)


def _log_failure(exc: Exception) -> None:
    if isinstance(exc, WritesRefused):
        # Database logs the fault once when it starts; every request retrying would flood the log.
        log.debug("due transitions not written: %s", exc.reason)
    elif isinstance(exc, DatabaseBusy | DatabaseUnavailable):
        log.warning("due transitions left for a later request: %s", type(exc).__name__)
    else:
        log.error("settling due transitions failed", exc_info=exc)


async def write_due(db: Database, now: datetime, *, wait: bool) -> int:
    """Finish every simulated rollout and training step due by `now`, in one transaction; returns how many."""
    written = 0
    async with db.write(wait=wait) as session:
        # Read under the write lock: what another process settled meanwhile is not due any more.
        due = await schedule.DEPLOY_FINISH.due(session, now)
        written += await settle_jobs(session, now)
        fails = rollout_fails(np.array([row_id for row_id, _ in due], dtype=np.int64))
        for (row_id, due_at), failed in zip(due, fails.tolist(), strict=True):
            written += await finish_deploying(session, row_id, due_at, failed)
        written += await rollout_steps.due_steps(session, now)
    return written  # counted once the transaction committed


async def finish_deploying(session: AsyncSession, row_id: int, due_at: datetime, failed: bool) -> int:
    """A deploy either fails, with its reason, or finishes: one move or the other. A version with a
    planned rollout then takes its first share (rollout_steps.begin) instead of all the traffic."""
    planned = await rollout_rows.pending_for(session, row_id)
    moved = await deployments.transition(
        session=session,
        deployment_id=row_id,
        move=FAIL_ROLLOUT if failed else ACTIVATE,
        actor=SYSTEM_ACTOR,
        at=due_at,
        reason=rollout_failure_reason(row_id) if failed else None,
        message=None if failed else "Rollout finished",
        follow=planned is None,
    )
    if not moved:
        return 0
    model_name = await releases.model_name_of(session=session, deployment_id=row_id)
    assert model_name is not None
    if planned is not None and failed:
        await rollout_steps.stop(session, model_name, actor=SYSTEM_ACTOR, at=due_at, why="the deploy failed")
    elif planned is not None:
        await rollout_steps.begin(session, planned, actor=SYSTEM_ACTOR, at=due_at)
    elif not failed:  # taking all the traffic ends another version's rollout
        await rollout_steps.stop(
            session, model_name, actor=SYSTEM_ACTOR, at=due_at, why="another version took all traffic"
        )
    return 1
