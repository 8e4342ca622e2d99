"""Alembic migrations create the schema; the models and the migrations never disagree."""

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from db import migrate
from db.engine import Database
from db.models import Base
from tests.databases import database_for
from tests.support import ROOT, running_api


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    db = Database(await database_for(tmp_path))
    try:
        await db.prepare(migrate=True)

        def diff(conn: Connection) -> list[object]:
            return list(
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
            )

        async with db._write_engine.connect() as conn:
            assert await conn.run_sync(diff) == [], "run `python -m db.migrate --autogenerate MESSAGE`"
            assert await conn.run_sync(migrate.current) == migrate.head()
        await db.prepare(migrate=True)  # idempotent
    finally:
        await db.dispose()


async def test_no_migrate_refuses_a_database_with_pending_migrations(tmp_path: Path) -> None:
    with pytest.raises(migrate.PendingMigrations, match=r"python -m db\.migrate"):
        async with running_api(tmp_path, migrate=False):
            pass  # pragma: no cover


def test_the_migrate_command_then_a_server_that_only_checks(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    out = subprocess.run(
        [sys.executable, "-m", "db.migrate", "--db", db], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert migrate.head() in out.stdout


async def test_server_starts_without_migrating_an_up_to_date_database(tmp_path: Path) -> None:
    async with running_api(tmp_path):
        pass
    async with running_api(tmp_path, migrate=False) as api:
        assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0
