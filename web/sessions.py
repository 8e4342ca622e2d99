"""A request's view of the database: at most N sessions at once, and commits the deadline waits for.

Sibling resolvers each open a session (see PITFALLS: one AsyncSession cannot be shared), so one
wide request, or a batch of them, could take every pooled connection and leave other clients to
time out waiting for the pool. Each request gets a semaphore of its own instead.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from web.deadline import CommitHold


class RequestDatabase:
    """Wraps the process's Database for one request; everything else is delegated to it."""

    def __init__(self, db: Database, max_sessions: int, commit_grace: float) -> None:
        self._db = db
        self._slots = asyncio.Semaphore(max_sessions)
        self._holders: set[asyncio.Task[Any]] = set()
        self._commit_grace = commit_grace
        self.commits = 0  # transactions this request committed (mutations)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task in self._holders:  # a session opened while this task holds one: waiting could deadlock
            yield
            return
        async with self._slots:
            assert task is not None
            self._holders.add(task)
            try:
                yield
            finally:
                self._holders.discard(task)

    @asynccontextmanager
    async def read(self, *, one_statement: bool = False) -> AsyncIterator[AsyncSession]:
        async with self._slot(), self._db.read(one_statement=one_statement) as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction, as Database.write; the commit at its end is never cut by the deadline."""
        hold = CommitHold(self._commit_grace)
        async with self._slot():
            try:
                async with self._db.write() as session:
                    yield session
                    hold.hold()  # the block is done: what is left is the commit
                self.commits += 1
            finally:
                hold.release()
