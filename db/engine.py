"""Engine and session lifecycle: one `Database` per process, owned by the app's lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db import migrate as migrations
from db.models import FleetState

DEFAULT_BUSY_TIMEOUT = 5.0  # seconds a writer waits for SQLite's lock before giving up


class DatabaseBusy(Exception):
    """Another writer held the database lock for longer than the busy timeout."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached (refused, dropped, or no pooled connection came free)."""


def _is_unreachable(exc: Exception) -> bool:
    if isinstance(exc, PoolTimeout | ConnectionError | OSError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc.orig, ConnectionError | OSError):
        return True
    text = str(exc.orig).lower()
    return "unable to open database file" in text or (
        "connection" in text and ("refused" in text or "closed" in text or "lost" in text)
    )


def _is_busy(exc: DBAPIError) -> bool:
    """SQLite's "database is locked", PostgreSQL's lock_timeout (SQLSTATE 55P03)."""
    if getattr(exc.orig, "sqlstate", None) == "55P03":
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "lock timeout" in text


def database_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain SQLite file path."""
    if "://" in value:
        return value
    return f"sqlite+aiosqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_engine(url: str, *, immediate: bool, busy_timeout: float) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout})
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, issue BEGIN (see the "begin" hook below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another process wrote in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass(frozen=True)
class Pool:
    """Connection pool of a database server (PostgreSQL); SQLite files need none of it."""

    size: int = 10
    max_overflow: int = 10
    timeout: float = 10.0  # seconds to wait for a free connection, and to connect
    recycle: float = 1800.0  # seconds before a connection is replaced


def _server_engine(url: str, busy_timeout: float, pool: Pool) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        pool_recycle=pool.recycle,
        # A connection the server dropped is noticed and replaced before use.
        pool_pre_ping=True,
        connect_args={
            "timeout": pool.timeout,
            # Waiting on a row lock longer than this is DatabaseBusy, as on SQLite.
            "server_settings": {"lock_timeout": str(int(busy_timeout * 1000))},
        },
    )


class Database:
    """Read and write session factories over one database."""

    def __init__(
        self, url: str, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, pool: Pool | None = None
    ) -> None:
        pool = pool or Pool()
        # For logs and messages: the URL without its password.
        self.display_url = make_url(database_url(url)).render_as_string(hide_password=True)
        self.url = database_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            self._read_engine = _sqlite_engine(self.url, immediate=False, busy_timeout=busy_timeout)
            self._write_engine = _sqlite_engine(self.url, immediate=True, busy_timeout=busy_timeout)
        else:
            self._read_engine = self._write_engine = _server_engine(self.url, busy_timeout, pool)
        self._reader = async_sessionmaker(self._read_engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self._write_engine, expire_on_commit=False)
        # SQLite has one writer at a time anyway; queueing here avoids busy-waiting on the lock.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; sibling resolvers each take their own."""
        try:
            async with self._reader() as session:
                yield session
        except (DBAPIError, PoolTimeout, OSError) as exc:
            if _is_unreachable(exc):
                raise DatabaseUnavailable(type(exc).__name__) from exc
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block exits, rolled back on any exception.

        Raises DatabaseBusy when the lock stayed taken past the busy timeout.
        """
        try:
            if self._write_lock is None:
                async with self._writer.begin() as session:
                    yield session
                return
            async with self._write_lock, self._writer.begin() as session:
                yield session
        except (DBAPIError, PoolTimeout, OSError) as exc:
            if isinstance(exc, DBAPIError) and _is_busy(exc):
                raise DatabaseBusy(str(exc.orig)) from exc
            if _is_unreachable(exc):
                raise DatabaseUnavailable(type(exc).__name__) from exc
            raise

    @asynccontextmanager
    async def startup_write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that replicas starting together take one at a time, for check-then-insert."""
        async with self.write() as session:
            await session.run_sync(lambda s: migrations.hold_startup_lock(s.connection()))
            yield session

    async def prepare(self, *, migrate: bool) -> None:
        """Apply pending migrations (or check there are none), then make sure the counter row exists."""
        if migrate:
            await migrations.upgrade(self._write_engine)
        else:
            await migrations.check(self._write_engine)
        async with self.startup_write() as session:
            if await session.scalar(select(FleetState.id)) is None:
                session.add(FleetState(id=1, revision=0))

    async def dispose(self) -> None:
        await self._read_engine.dispose()
        if self._write_engine is not self._read_engine:
            await self._write_engine.dispose()
