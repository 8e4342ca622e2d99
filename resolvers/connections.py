"""A page of rows with its cursors, as plain data for the schema's Connection types."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from db.paging import Order, Page
from domain import Code
from resolvers.errors import ApiError
from resolvers.pagination import encode_cursor

Row = TypeVar("Row")


@dataclass
class Connection(Generic[Row]):
    rows: list[Row]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]  # totalCount runs only when asked for
    as_of: datetime | None = None  # the instant the nodes' figures are for
    figures: Any = None  # a PageFigures for the rows at as_of, when the listing made one


def from_page(
    page: Page[Row],
    order: Order,
    count: Callable[[], Awaitable[int]],
    as_of: datetime | None = None,
    scope: str = "",
) -> Connection[Row]:
    cursors = [encode_cursor(order, key, scope=scope) for key in page.keys]
    return Connection(page.rows, cursors, page.has_next, page.has_previous, count, as_of)


def order_fields(
    order_by: Sequence[tuple[str, bool]] | None, default: tuple[str, bool]
) -> list[tuple[str, bool]]:
    """The requested (field, descending) keys, or the default; a field may appear once."""
    fields = list(order_by or [default])
    names = [name for name, _ in fields]
    if len(set(names)) != len(names):
        raise ApiError("`orderBy` names a field more than once", Code.INVALID_ORDER)
    if len(fields) > 5:
        raise ApiError("`orderBy` takes at most 5 keys", Code.INVALID_ORDER)
    return fields


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
