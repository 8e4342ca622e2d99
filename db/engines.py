"""How each database's engine is made: its URL, its connection pool, and its per-connection settings."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

READ_ONLY_SQLSTATE = "25006"


def database_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a plain SQLite file path."""
    if "://" in value:
        return value
    return f"sqlite+aiosqlite:///{Path(value).expanduser().resolve()}"


@dataclass(frozen=True)
class Pool:
    """A process's connection pool (PostgreSQL's connections; SQLite's reading connections)."""

    size: int = 10
    max_overflow: int = 10
    timeout: float = 10.0  # seconds to wait for a free connection, and to connect
    recycle: float = 1800.0  # seconds before a connection is replaced


def sqlite_engine(
    url: str, *, immediate: bool, busy_timeout: float, settings: Mapping[str, str], pool: Pool | None = None
) -> AsyncEngine:
    """`pool`, for the reading engine: size + overflow connections, all kept open. Each aiosqlite
    connection is a thread; the default pool (5, overflow 10) closed every overflow connection on
    return, so 32 concurrent readers started 162 threads in 5 s (and each a new file handle)."""
    options: dict[str, float] = {}
    if pool is not None:
        options = {
            "pool_size": pool.size + pool.max_overflow,
            "max_overflow": 0,
            "pool_timeout": pool.timeout,
        }
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout}, **options)
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
        for name, value in settings.items():  # Database.reconnect's, checked there
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(sync, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another process wrote in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def server_engine(
    url: str, busy_timeout: float, pool: Pool, settings: Mapping[str, str], statement_timeout: float | None
) -> AsyncEngine:
    server_settings = {"lock_timeout": str(int(busy_timeout * 1000))}  # longer waits: DatabaseBusy
    if statement_timeout:  # no statement outlives the request that sent it (a hung query, a huge scan)
        server_settings["statement_timeout"] = str(int(statement_timeout * 1000))
    engine = create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout,
        pool_recycle=pool.recycle,
        # A connection the server dropped is noticed and replaced before use.
        pool_pre_ping=True,
        connect_args={
            "timeout": pool.timeout,
            "server_settings": server_settings,
        },
    )

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context):  # type: ignore[no-untyped-def]
        # A server that went read-only (a standby after failover, default_transaction_read_only)
        # keeps its sessions so: treat it as a disconnect, which replaces every pooled
        # connection, so the first write after it is writable again works, without a restart.
        if getattr(context.original_exception, "sqlstate", None) == READ_ONLY_SQLSTATE:
            context.is_disconnect = True

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_connect(_dialect, _record, _cargs, cparams):  # type: ignore[no-untyped-def]
        # Startup parameters, so they hold for the whole session (Database.reconnect's, checked there).
        cparams["server_settings"] = {**cparams.get("server_settings", {}), **settings}

    return engine
