"""Schema migrations with Alembic: `python -m db.migrate [--db URL]` (or `deploydeck migrate`) applies
pending ones.

The server applies them at start-up by default (see settings); migrations, not create_all,
create and upgrade the schema on SQLite and PostgreSQL alike.
"""

import argparse
import asyncio
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db.engines import database_url

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK = 0x6465706C  # advisory lock id: replicas starting together take their start-up steps in turn


class PendingMigrations(RuntimeError):
    pass


class MigrationsMissing(RuntimeError):
    """The installed code lacks its migration scripts: a broken installation, not a database problem."""


def config(connection: Connection | None = None) -> Config:
    if not (_SCRIPTS / "env.py").is_file() or not (_SCRIPTS / "versions").is_dir():
        raise MigrationsMissing(
            f"the schema migrations are missing from this installation (no {_SCRIPTS}/env.py and "
            "versions/): reinstall deploydeck from a complete wheel or checkout"
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "db/migrations/versions holds at least the initial revision"
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def hold_startup_lock(connection: Connection) -> None:
    """Until this transaction ends, keep other replicas' start-up steps (migrating, loading the demo) waiting.

    On PostgreSQL an advisory lock; SQLite's write transactions (BEGIN IMMEDIATE) already take turns.
    """
    if connection.dialect.name == "postgresql":
        # Waiting for another replica's start-up may take longer than the busy timeout of requests.
        connection.execute(text("SET LOCAL lock_timeout = '60s'"))
        connection.execute(text("SET LOCAL statement_timeout = '60s'"))  # not the request deadline's
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK})"))


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration, in one transaction."""

    def run(connection: Connection) -> None:
        hold_startup_lock(connection)
        command.upgrade(config(connection), "head")
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"a migration broke foreign keys: {broken[:5]}")

    async with engine.connect() as conn:
        # SQLite alters a table by copying it and dropping the original, which enforced foreign
        # keys refuse while other rows refer to it. The switch works only outside a
        # transaction; foreign_key_check above proves the result consistent before commit.
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            await _sqlite_pragma(conn, "foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(run)
        finally:
            if sqlite:
                await _sqlite_pragma(conn, "foreign_keys=ON")


async def _sqlite_pragma(conn: AsyncConnection, pragma: str) -> None:
    """A PRAGMA on the driver's connection: through SQLAlchemy it would begin a transaction first."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


async def check(engine: AsyncEngine) -> None:
    """Raise PendingMigrations unless the database is at the code's revision."""
    async with engine.connect() as conn:
        found = await conn.run_sync(current)
    if found != head():
        raise PendingMigrations(
            f"the database schema is at revision {found or 'none'}, this code needs {head()}: "
            "run `python -m db.migrate` (or start the server with --migrate)"
        )


def main(argv: Sequence[str] | None = None, prog: str = "python -m db.migrate") -> None:
    parser = argparse.ArgumentParser(prog=prog, description="Apply pending schema migrations.")
    parser.add_argument(
        "--db",
        default=os.environ.get("DATABASE_URL", "deploydeck.db"),
        help="SQLite file path or database URL (env DATABASE_URL; default %(default)s)",
    )
    parser.add_argument(
        "--autogenerate",
        metavar="MESSAGE",
        help="for developers: write a new revision from the difference between the models "
        "and the migrations so far",
    )
    args = parser.parse_args(argv)
    if args.autogenerate:
        asyncio.run(_autogenerate(args.autogenerate))
        return
    try:
        engine = create_async_engine(database_url(args.db))
        asyncio.run(_upgrade_and_dispose(engine))
    except MigrationsMissing as exc:
        parser.exit(1, f"{prog}: error: {exc}\n")
    print(f"{args.db}: at revision {head()}")


async def _upgrade_and_dispose(engine: AsyncEngine) -> None:
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _autogenerate(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_async_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            await upgrade(engine)
            async with engine.begin() as conn:
                await conn.run_sync(lambda c: command.revision(config(c), message=message, autogenerate=True))
        finally:
            await engine.dispose()


if __name__ == "__main__":
    main()
