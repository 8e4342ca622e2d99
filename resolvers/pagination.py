"""Connections in and out: page-size checks, opaque validated keyset cursors, and the page of rows
with its cursors that the schema's Connection types read."""

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

import orjson

from db.paging import KeyValue, Order, Page, PageRequest
from db.types import INTEGER_MAX, INTEGER_MIN
from domain import Code
from resolvers.errors import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_MAX_CURSOR_LENGTH = 1000


@dataclass(frozen=True)
class PageArgs:
    """A connection's paging arguments as the client sent them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


F = TypeVar("F")


@dataclass(frozen=True)
class Listing(Generic[F]):
    """What a connection field asks its listing for: the filter, the sort keys and the page."""

    flt: F
    order_by: Sequence[tuple[str, bool]] | None  # (field, descending); None: the listing's default
    page: PageArgs


@dataclass(frozen=True)
class Cursor:
    values: tuple[KeyValue, ...]
    as_of: datetime | None = None


def scope_of(*parts: object) -> str:
    """A short, stable fingerprint of a connection's filter, carried by its cursors."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


def encode_cursor(
    order: Order, values: Sequence[KeyValue], as_of: datetime | None = None, scope: str = ""
) -> str:
    payload: dict[str, Any] = {"o": order.signature, "v": [_plain(v) for v in values]}
    if scope:
        payload["f"] = scope
    if as_of is not None:
        payload["t"] = as_of.isoformat()
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


class Cursors(Sequence[str]):
    """A page's cursors, each encoded when it is read: a table that selects only `nodes` (the
    dashboard's) encodes none, where 50 encodings were ~1 ms of a cold page."""

    __slots__ = ("_as_of", "_keys", "_order", "_scope")

    def __init__(
        self, order: Order, keys: Sequence[Sequence[KeyValue]], as_of: datetime | None = None, scope: str = ""
    ) -> None:
        self._order, self._keys, self._as_of, self._scope = order, keys, as_of, scope

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return encode_cursor(self._order, self._keys[i], self._as_of, self._scope)


def decode_cursor(cursor: str, order: Order, argument: str, scope: str = "") -> Cursor:
    """Parse a cursor made for `order`; ApiError(INVALID_CURSOR) for anything else."""
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        payload = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(payload, dict) or not isinstance(payload.get("v"), list):
            raise ValueError("not a cursor")
        if payload.get("o") != order.signature:
            raise ApiError(f"`{argument}` cursor was made for a different orderBy", Code.INVALID_CURSOR)
        if payload.get("f", "") != scope:
            raise ApiError(
                f"`{argument}` cursor was made for a different filter; start again from the first page",
                Code.INVALID_CURSOR,
            )
        raw = payload["v"]
        if len(raw) != len(order.keys):
            raise ValueError("wrong length")
        values = tuple(_parse(v, key.kind, key.nullable) for (key, _), v in zip(order.keys, raw, strict=True))
        as_of = _parse_time(payload["t"]) if "t" in payload else None
    except ApiError:
        raise
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeError, orjson.JSONDecodeError):
        raise ApiError(f"`{argument}` is not a valid cursor", Code.INVALID_CURSOR) from None
    return Cursor(values, as_of)


def page_request(order: Order, args: PageArgs, scope: str = "") -> tuple[PageRequest, list[Cursor]]:
    """Validated page arguments; also returns the decoded cursors (for their asOf)."""
    first, after, last, before = args.first, args.after, args.last, args.before
    if first is not None and last is not None:
        raise ApiError("Pass `first` or `last`, not both", Code.INVALID_PAGINATION)
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
            raise ApiError(
                f"`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {size}", Code.PAGE_SIZE_LIMIT
            )
    if first is None and last is None:
        first = DEFAULT_PAGE_SIZE
    after_cursor = decode_cursor(after, order, "after", scope) if after is not None else None
    before_cursor = decode_cursor(before, order, "before", scope) if before is not None else None
    request = PageRequest(
        first=first,
        last=last,
        after=after_cursor.values if after_cursor else None,
        before=before_cursor.values if before_cursor else None,
    )
    return request, [c for c in (after_cursor, before_cursor) if c is not None]


def _plain(value: KeyValue) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _parse(value: Any, kind: type, nullable: bool) -> KeyValue:
    if value is None:
        if not nullable:
            raise ValueError("null key")
        return None
    if kind is datetime:
        return _parse_time(value)
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if type(value) is not kind:
        raise ValueError("wrong key type")
    if isinstance(value, int) and not INTEGER_MIN <= value <= INTEGER_MAX:
        raise ValueError("out of range for a database integer")
    if isinstance(value, str) and not value.isprintable():
        raise ValueError("names hold no control characters")  # and PostgreSQL refuses NUL
    return value  # type: ignore[no-any-return]


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed.astimezone(UTC)


Row = TypeVar("Row")


# A page of rows with its cursors, as plain data for the schema's Connection types.
@dataclass
class Connection(Generic[Row]):
    rows: list[Row]
    cursors: Sequence[str]
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
    return Connection(
        page.rows, Cursors(order, page.keys, scope=scope), page.has_next, page.has_previous, count, as_of
    )


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
