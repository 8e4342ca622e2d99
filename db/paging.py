"""Keyset pagination over any sort order: nulls last in both directions, id as the tie-breaker.

A cursor is the tuple of a row's sort-key values followed by its id. "After a cursor" is the
lexicographic comparison over those values, spelled out as OR-of-ANDs so it works on any SQL
database and can use the indexes on the leading columns. Never OFFSET.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


class _Rows(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, cut: slice, /) -> Self: ...


Rows = TypeVar("Rows", bound=_Rows)
KeyValue = datetime | int | float | str | None


@dataclass(frozen=True)
class SortKey:
    """One column of an order; `rank` orders an enum column by lifecycle instead of by name."""

    attr: str
    kind: type  # datetime, int, float or str: how cursor values are parsed back
    nullable: bool = False
    rank: tuple[str, ...] | None = None

    def expr(self, model: Any) -> ColumnElement[Any]:
        column = getattr(model, self.attr)
        if self.rank is None:
            return column
        return case({name: i for i, name in enumerate(self.rank)}, value=column)

    def value(self, row: Any) -> KeyValue:
        raw = getattr(row, self.attr)
        if self.rank is None or raw is None:
            return raw
        return self.rank.index(raw)


@dataclass(frozen=True)
class Order:
    """A resolved sort order: keys with their directions, ending with the id tie-breaker."""

    keys: tuple[tuple[SortKey, bool], ...]  # (key, descending)

    @property
    def signature(self) -> str:
        return ",".join(f"{k.attr}{'-' if d else '+'}" for k, d in self.keys)


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    last: int | None = None
    after: tuple[KeyValue, ...] | None = None
    before: tuple[KeyValue, ...] | None = None

    def cut(self, between: Rows) -> tuple[Rows, bool, bool]:
        """This page of `between` (the rows strictly between the cursors, in order): its first `first`
        or last `last` rows, whether there are rows after it and whether there are rows before it."""
        if self.last is not None:
            return (
                between[max(len(between) - self.last, 0) :],
                self.before is not None,
                len(between) > self.last,
            )
        assert self.first is not None, "page_request sets a default page size"
        return between[: self.first], len(between) > self.first, self.after is not None


@dataclass
class Page(Generic[Row]):
    rows: list[Row]
    keys: list[tuple[KeyValue, ...]]  # cursor values of each row, same order
    has_next: bool
    has_previous: bool


def _components(
    model: Any, order: Order, values: Sequence[KeyValue], flip: bool
) -> list[tuple[ColumnElement[Any], bool, Any]]:
    """Expand keys into comparable (expr, descending, value) parts; nulls become a 0/1 flag."""
    parts = []
    for (key, desc), value in zip(order.keys, values, strict=True):
        expr = key.expr(model)
        if key.nullable:
            # The flag sorts ascending in both directions, so nulls come last either way.
            parts.append((case((expr.is_(None), 1), else_=0), flip, 1 if value is None else 0))
            if value is None:
                continue  # among nulls the column itself cannot order anything
        parts.append((expr, desc != flip, value))
    return parts


def order_by(model: Any, order: Order, flip: bool = False) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for `order` (reversed when flip)."""
    clauses = []
    for key, desc in order.keys:
        expr = key.expr(model)
        if key.nullable:
            flag = case((expr.is_(None), 1), else_=0)
            clauses.append(flag.desc() if flip else flag.asc())
        clauses.append(expr.desc() if desc != flip else expr.asc())
    return clauses


def seek(model: Any, order: Order, values: Sequence[KeyValue], flip: bool) -> ColumnElement[bool]:
    """Rows strictly after `values` in `order` (strictly before when flip)."""
    parts = _components(model, order, values, flip)
    alternatives = []
    for i, (expr, desc, value) in enumerate(parts):
        equal = [e == v for e, _, v in parts[:i]]
        beyond = expr < value if desc else expr > value
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives) if alternatives else false()


async def fetch_page(
    session: AsyncSession,
    model: Any,
    where: Sequence[ColumnElement[bool]],
    order: Order,
    page: PageRequest,
) -> Page[Any]:
    """One page of `model` rows matching `where`."""
    stmt, limit, backwards = _page_statement(select(model), model, where, order, page)
    rows = list((await session.scalars(stmt)).all())
    return _finish(rows, order, page, limit, backwards)


async def count(session: AsyncSession, model: Any, where: Sequence[ColumnElement[bool]]) -> int:
    return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


def _limit(page: PageRequest) -> tuple[int, bool]:
    if page.last is not None:
        return page.last, True
    assert page.first is not None, "the caller sets a default page size"
    return page.first, False


def _seek_clauses(model: Any, order: Order, page: PageRequest) -> list[ColumnElement[bool]]:
    clauses = []
    if page.after is not None:
        clauses.append(seek(model, order, page.after, flip=False))
    if page.before is not None:
        clauses.append(seek(model, order, page.before, flip=True))
    return clauses or [true()]


def _page_statement(
    stmt: Select[Any], model: Any, where: Sequence[ColumnElement[bool]], order: Order, page: PageRequest
) -> tuple[Select[Any], int, bool]:
    limit, backwards = _limit(page)
    stmt = (
        stmt.where(*where, *_seek_clauses(model, order, page))
        .order_by(*order_by(model, order, flip=backwards))
        .limit(limit + 1)
    )
    return stmt, limit, backwards


def _finish(rows: list[Any], order: Order, page: PageRequest, limit: int, backwards: bool) -> Page[Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    keys = [row_key(order, row) for row in rows]
    if backwards:
        return Page(rows, keys, has_next=page.before is not None, has_previous=more)
    return Page(rows, keys, has_next=more, has_previous=page.after is not None)


def row_key(order: Order, row: Any) -> tuple[KeyValue, ...]:
    return tuple(key.value(row) for key, _ in order.keys)
