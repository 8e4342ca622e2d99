"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator

# INTEGER columns (ids, versions) are 32-bit on PostgreSQL: a larger number names no row and
# would fail in the driver, so ids and cursors holding one are refused as malformed first.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1

# Names sort by code point on every database (SQLite's BINARY; "C" on PostgreSQL, whose
# default collation would ignore punctuation and case).
Name = String(100).with_variant(String(100, collation="C"), "postgresql")
# A name folded for case-insensitive matching (db/folding.py); casefold at most triples a length.
FoldedName = String(300).with_variant(String(300, collation="C"), "postgresql")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The CHECK condition of an enum column: one of `values`, in order (the models and migrations)."""
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; SQLite returns naive values, which are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: store them naive so every value has one format.
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
