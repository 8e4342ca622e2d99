"""Engine and session lifecycle: one `Database` per process, owned by the app's lifespan."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import migrate as migrations
from db.engines import Pool, database_url, server_engine, sqlite_engine
from db.faults import (
    DatabaseBusy,
    DatabaseFull,
    DatabaseReadOnly,
    DatabaseUnavailable,
    WriteFault,
    WritesRefused,
    is_busy,
    is_unreachable,
    refusal,
)
from db.models import FleetState

DEFAULT_BUSY_TIMEOUT = 5.0  # seconds a writer waits for SQLite's lock before giving up
NO_WAIT_LOCK_TIMEOUT = "1ms"  # PostgreSQL's lock_timeout for a write that must not wait (0 means never)
_SETTING = re.compile(r"^[a-z_]{1,63}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.]{1,63}$")
log = logging.getLogger("deploydeck.db")

__all__ = ["Database", "DatabaseBusy", "DatabaseFull", "DatabaseReadOnly", "DatabaseUnavailable", "Pool"]


class _RollBack(Exception):
    """Ends a probe's transaction without committing it."""


class Database:
    """Read and write session factories over one database."""

    def __init__(
        self,
        url: str,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        pool: Pool | None = None,
        statement_timeout: float | None = None,
    ) -> None:
        pool = pool or Pool()
        # For logs and messages: the URL without its password.
        self.display_url = make_url(database_url(url)).render_as_string(hide_password=True)
        self.url = database_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        # The storage fault the last write met (read-only, full); None once a write commits again.
        self.write_fault: WriteFault | None = None
        self._settings: dict[str, str] = {}  # see reconnect(); the engines' hooks read it
        if self.is_sqlite:
            self._read_engine = sqlite_engine(
                self.url, immediate=False, busy_timeout=busy_timeout, settings=self._settings, pool=pool
            )
            self._write_engine = sqlite_engine(
                self.url, immediate=True, busy_timeout=busy_timeout, settings=self._settings
            )
            # For writes that must not wait for another process's lock (see write(wait=False)).
            self._no_wait_engine = sqlite_engine(
                self.url, immediate=True, busy_timeout=0, settings=self._settings
            )
            self._engines = [self._read_engine, self._write_engine, self._no_wait_engine]
        else:
            engine = server_engine(self.url, busy_timeout, pool, self._settings, statement_timeout)
            self._read_engine = self._write_engine = self._no_wait_engine = engine
            self._engines = [engine]
        # Migrations may rightly run longer than any request: they get an engine without statement_timeout.
        self._migration_settings = (busy_timeout, pool)
        self._reader = async_sessionmaker(self._read_engine, expire_on_commit=False)
        # A read of one statement needs no transaction around it: on PostgreSQL that saves the BEGIN
        # and ROLLBACK round trips (asyncpg's autocommit is a client-side flag). SQLite's reads are
        # a deferred BEGIN on the connection's own thread, as before.
        self._statement_reader = (
            self._reader
            if self.is_sqlite
            else async_sessionmaker(
                self._read_engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
            )
        )
        self._writer = async_sessionmaker(self._write_engine, expire_on_commit=False)
        self._no_wait_writer = async_sessionmaker(self._no_wait_engine, expire_on_commit=False)
        # SQLite has one writer at a time anyway; queueing here avoids busy-waiting on the lock.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self, *, one_statement: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads; sibling resolvers each take their own. `one_statement`: the block runs
        a single statement, so nothing needs it in a transaction (reads of several statements that must
        agree, such as a revision and the rows it counts, leave it off)."""
        try:
            async with (self._statement_reader if one_statement else self._reader)() as session:
                yield session
        except (DBAPIError, PoolTimeout, OSError) as exc:
            if is_unreachable(exc):
                raise DatabaseUnavailable(type(exc).__name__) from exc
            raise

    @asynccontextmanager
    async def write(self, *, wait: bool = True, bump: bool = True) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block exits, rolled back on any exception.

        Raises DatabaseBusy when the lock stayed taken past the busy timeout (with `wait=False`:
        when another writer holds it at all), DatabaseReadOnly or DatabaseFull when the storage
        refuses writes, DatabaseUnavailable when the database cannot be reached. Bumps the data
        revision first (`bump=False` only for a transaction that changes nothing a client reads).
        """
        try:
            async with self._transaction(wait) as session:
                if bump:
                    # First, so every writer takes the counter row's lock in the same order (no deadlock):
                    # any write, of any table, tells every process's response cache (web/response_cache.py).
                    await session.execute(
                        update(FleetState)
                        .where(FleetState.id == 1)
                        .values(data_revision=FleetState.data_revision + 1)
                        .execution_options(synchronize_session=False)
                    )
                yield session
        except (DBAPIError, PoolTimeout, OSError) as exc:
            translated = self._translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        if self.write_fault is not None:
            log.warning("database %s accepts writes again", self.display_url)
            self.write_fault = None

    @asynccontextmanager
    async def _transaction(self, wait: bool) -> AsyncIterator[AsyncSession]:
        if self._write_lock is None:  # a database server: row locks, waited for up to lock_timeout
            async with self._writer.begin() as session:
                if not wait:
                    await session.execute(text(f"SET LOCAL lock_timeout = '{NO_WAIT_LOCK_TIMEOUT}'"))
                yield session
            return
        if not wait and self._write_lock.locked():
            raise DatabaseBusy("another write of this process holds the lock")
        writer = self._writer if wait else self._no_wait_writer
        async with self._write_lock, writer.begin() as session:
            yield session

    def _translate(self, exc: Exception) -> Exception:
        if isinstance(exc, DBAPIError):
            if is_busy(exc):
                return DatabaseBusy(str(exc.orig))
            refused = refusal(exc)
            if refused is not None:
                self._note(refused)
                return refused
        if is_unreachable(exc):
            return DatabaseUnavailable(type(exc).__name__)
        return exc

    def _note(self, refused: WritesRefused) -> None:
        if self.write_fault is None or self.write_fault.reason != refused.reason:
            log.error("database %s refuses writes (%s): %s", self.display_url, refused.reason, refused)
            self.write_fault = WriteFault(refused.reason, datetime.now(UTC), str(refused))

    async def ping(self) -> None:
        """One trivial round trip on a read session: raises when the database does not answer."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def probe_writes(self) -> None:
        """Find out whether a write would be refused as read-only, writing nothing.

        A rolled-back no-op UPDATE of the counter row that waits for no lock: a read-only file,
        mount or server refuses it as it would any write. Notes the fault, or clears a read-only
        one, for /readyz; a busy lock says nothing either way. (A full disk needs no room for it,
        so only a write that commits clears `full`.)
        """
        try:
            async with self._transaction(wait=False) as session:
                await session.execute(
                    update(FleetState)
                    .where(FleetState.id == 1)
                    .values(revision=FleetState.revision)
                    .execution_options(synchronize_session=False)
                )
                raise _RollBack
        except _RollBack:
            if self.write_fault is not None and self.write_fault.reason == DatabaseReadOnly.reason:
                log.warning("database %s is writable again", self.display_url)
                self.write_fault = None
        except DatabaseBusy:
            return
        except (DBAPIError, PoolTimeout, OSError) as exc:
            translated = self._translate(exc)
            if isinstance(translated, DatabaseBusy | WritesRefused):
                return
            if translated is exc:
                raise
            raise translated from exc

    async def reconnect(self, settings: Mapping[str, str] | None = None) -> None:
        """Close every pooled connection; new ones first apply `settings`.

        A seam for tests: the databases' own knobs produce real storage faults without root or
        a full disk. SQLite takes PRAGMAs (`query_only=ON`: read-only; `max_page_count=N`:
        full at N pages), PostgreSQL run-time parameters (`default_transaction_read_only=on`).
        No settings: connections as in production.
        """
        for name, value in (settings or {}).items():
            if not (_SETTING.match(name) and _VALUE.match(value)):
                raise ValueError(f"not a plain setting: {name}={value}")
        self._settings.clear()
        self._settings.update(settings or {})
        for engine in self._engines:
            await engine.dispose()

    @asynccontextmanager
    async def startup_write(self, *, bump: bool = True) -> AsyncIterator[AsyncSession]:
        """A write transaction that replicas starting together take one at a time, for check-then-insert."""
        async with self.write(bump=bump) as session:
            await session.run_sync(lambda s: migrations.hold_startup_lock(s.connection()))
            yield session

    async def prepare(self, *, migrate: bool) -> None:
        """Apply pending migrations (or check there are none), then make sure the counter row exists."""
        engine = self._write_engine
        if not self.is_sqlite:
            busy_timeout, pool = self._migration_settings
            engine = server_engine(self.url, busy_timeout, pool, self._settings, statement_timeout=None)
        try:
            if migrate:
                await migrations.upgrade(engine)
            else:
                await migrations.check(engine)
        finally:
            if engine is not self._write_engine:
                await engine.dispose()
        # No bump: writes nothing unless the counter row is missing (and may run on a read-only file).
        async with self.startup_write(bump=False) as session:
            if await session.scalar(select(FleetState.id)) is None:
                session.add(FleetState(id=1, revision=0))

    @property
    def read_engine(self) -> AsyncEngine:
        """The engine reads use: for tools and tests that watch or inspect its statements."""
        return self._read_engine

    @property
    def write_engine(self) -> AsyncEngine:
        """The engine writes use (the same as reads' on a database server)."""
        return self._write_engine

    def pool_use(self) -> tuple[int, int]:
        """(connections checked out, connections the pools keep open) over this process's engines."""
        checked_out = size = 0
        for engine in self._engines:
            pool = engine.pool
            # QueuePool (PostgreSQL, SQLite files) has both; others (a NullPool) count as none.
            checked_out += getattr(pool, "checkedout", lambda: 0)()
            size += getattr(pool, "size", lambda: 0)()
        return checked_out, size

    async def dispose(self) -> None:
        for engine in self._engines:
            await engine.dispose()
