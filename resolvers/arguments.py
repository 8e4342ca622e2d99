"""Filter and time arguments made safe before they reach db/: UTC instants, bounded names."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain import Code
from resolvers.errors import ApiError


def utc(value: datetime | None) -> datetime | None:
    """Timestamps from clients without an offset are taken as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59
        raise ApiError(
            f"{value.isoformat()} is out of range once converted to UTC", Code.BAD_USER_INPUT
        ) from None


MAX_NAME_FILTER = 100  # model names are at most 100 characters


def name_filter(value: str | None) -> str | None:
    """A modelName filter: bounded, and text any database can compare."""
    if value is None:
        return None
    if len(value) > MAX_NAME_FILTER:
        raise ApiError(
            f"`modelName` filter is {len(value)} characters; at most {MAX_NAME_FILTER}", Code.BAD_USER_INPUT
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError("`modelName` filter is not valid Unicode text", Code.BAD_USER_INPUT) from None
    if not value.isprintable():  # names never hold control characters; PostgreSQL refuses NUL
        raise ApiError("`modelName` filter must not contain control characters", Code.BAD_USER_INPUT)
    return value


def tuple_or_none(values: Sequence[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)
