"""The settler's shared checks (resolvers/lifecycle.py): a request that joined a check already in
flight reads the fleet by a check that started after it, so a write acknowledged before the
request arrived is in what it sees."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from db import schedule
from db.engine import Database
from db.models import FleetState
from resolvers.lifecycle import Settler
from tests.databases import database_for
from tests.support import T0


async def test_a_request_that_joined_an_older_check_reads_the_fleet_by_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(await database_for(tmp_path))
    await db.prepare(migrate=True)
    settler = Settler(lambda: T0)
    real_observe = schedule.observe
    release, reading_done = asyncio.Event(), asyncio.Event()
    held: list[int] = []

    async def slow_first(session: object) -> schedule.Observed:
        observed = await real_observe(session)  # type: ignore[arg-type]
        if not held:  # the first check has read, and stays in flight until released
            held.append(observed.fleet_revision)
            reading_done.set()
            await release.wait()
        return observed

    monkeypatch.setattr(schedule, "observe", slow_first)
    try:
        older = asyncio.ensure_future(settler.settle(db, T0))  # another request's check, in flight
        await reading_done.wait()
        async with db.write() as session:  # acknowledged before our request arrives
            await session.execute(update(FleetState).values(revision=FleetState.revision + 1))
        ours = asyncio.ensure_future(settler.settle(db, T0))
        await asyncio.sleep(0.05)
        release.set()
        await older
        check = await ours
        assert check.observed is not None and check.observed.fleet_revision == held[0]  # the older check's
        assert not check.current and check.since is not None  # so its revision is not the request's
        assert await settler.revision_since(db, T0, check.since) == held[0] + 1  # a newer check's is
    finally:
        await settler.drain()
        await db.dispose()
