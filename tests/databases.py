"""Which database a test runs on: a SQLite file in its tmp_path, or, when TEST_DATABASE_URL
names a PostgreSQL server, a fresh database there (one per tmp_path, dropped at the end)."""

import asyncio
import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(SERVER_URL)
_created: set[str] = set()


def _admin_dsn() -> str:
    assert SERVER_URL
    return make_url(SERVER_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _name(tmp_path: Path, stem: str) -> str:
    return "t_" + hashlib.sha1(f"{tmp_path}/{stem}".encode()).hexdigest()[:20]


async def database_for(tmp_path: Path, stem: str = "test") -> str:
    """The database URL (or SQLite path) of the test whose files live in `tmp_path`."""
    if not SERVER_URL:
        return str(tmp_path / f"{stem}.db")
    name = _name(tmp_path, stem)
    if name not in _created:
        conn = await asyncpg.connect(_admin_dsn())
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        _created.add(name)
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def database_for_sync(tmp_path: Path, stem: str = "live") -> str:
    """database_for, from a test that runs outside the event loop."""
    return asyncio.run(database_for(tmp_path, stem)) if SERVER_URL else str(tmp_path / f"{stem}.db")


async def drop_created() -> None:
    if not SERVER_URL or not _created:
        return
    conn = await asyncpg.connect(_admin_dsn())
    try:
        for name in sorted(_created):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    _created.clear()


def query_rows(db: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of a plain SQL query on a test database (SQLite path or PostgreSQL URL), read directly."""
    if "://" not in db:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            return conn.execute(sql).fetchall()

    async def fetch() -> list[tuple[object, ...]]:
        url = make_url(db).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(url)
        try:
            return [tuple(record) for record in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())
