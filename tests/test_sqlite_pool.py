"""SQLite's reading connections stay open: each is an aiosqlite thread and a file handle, and a
pool that closed its overflow connections on return started a new thread for most reads under load."""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, text

from db.engine import Database
from db.engines import Pool
from tests.databases import ON_POSTGRES


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's reading engine (PostgreSQL's pool is SQLAlchemy's own)")
async def test_concurrent_reads_reuse_size_plus_overflow_connections(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "pool.db"), pool=Pool(size=3, max_overflow=4, timeout=5))
    opened: list[int] = []
    event.listen(db.read_engine.sync_engine, "connect", lambda *_: opened.append(1))
    busy = [0]
    most = [0]

    async def read() -> None:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))  # checks a connection out until the session ends
            busy[0] += 1
            most[0] = max(most[0], busy[0])
            await asyncio.sleep(0.02)
            busy[0] -= 1

    try:
        for _burst in range(3):
            await asyncio.gather(*(read() for _ in range(30)))
        assert most[0] == 7  # size + overflow readers at once, the others waited for one
        assert len(opened) == 7  # and every one of them was kept for the next bursts
        assert db.pool_use() == (0, 7 + 10)  # + the two writing engines' default pools (5 each)
    finally:
        await db.dispose()
