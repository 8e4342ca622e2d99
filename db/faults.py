"""What went wrong with the database, in words the rest of the server can act on.

A driver error is one of: busy (another writer held the lock too long), unreachable (refused,
dropped, no pooled connection came free), or a storage fault that refuses writes while reads
go on (a read-only file or transaction, a full disk). Anything else stays a driver error.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class DatabaseBusy(Exception):
    """Another writer held the database lock for longer than the busy timeout."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached (refused, dropped, or no pooled connection came free)."""


class WritesRefused(Exception):
    """The database answers reads but refuses writes; nothing of the transaction was kept."""

    reason = "refused"


class DatabaseReadOnly(WritesRefused):
    """A read-only file (SQLITE_READONLY) or transaction (PostgreSQL SQLSTATE 25006)."""

    reason = "read_only"


class DatabaseFull(WritesRefused):
    """No room to grow: SQLITE_FULL, or PostgreSQL's disk_full (SQLSTATE 53100)."""

    reason = "full"


@dataclass(frozen=True)
class WriteFault:
    """The storage fault the last write met; cleared by the next write that commits."""

    reason: str  # WritesRefused.reason of the error
    since: datetime  # wall clock of the first failure in a row
    detail: str  # the driver's message, for operators (never a client)


def is_unreachable(exc: Exception) -> bool:
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


def is_busy(exc: DBAPIError) -> bool:
    """SQLite's "database is locked", PostgreSQL's lock_timeout (SQLSTATE 55P03)."""
    if getattr(exc.orig, "sqlstate", None) == "55P03":
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text or "lock timeout" in text


def refusal(exc: DBAPIError) -> WritesRefused | None:
    """The storage fault behind a driver error, or None when it is not one."""
    orig = exc.orig
    # sqlite3 names its result code (SQLITE_READONLY_DBMOVED and the like are read-only too);
    # PostgreSQL gives a SQLSTATE. The message is the fallback for drivers that give neither.
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    state = getattr(orig, "sqlstate", None)
    text = str(orig).lower()
    if name.startswith("SQLITE_READONLY") or state == "25006" or "readonly database" in text:
        return DatabaseReadOnly(str(orig))
    if name == "SQLITE_FULL" or state == "53100" or "database or disk is full" in text:
        return DatabaseFull(str(orig))
    return None
