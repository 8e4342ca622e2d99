"""The deployments listing's sort keys: each orderable field's numeric column over the fleet snapshot,
an ordering of them, and the cursor values of a page's rows (resolvers/listing.py cuts the pages)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from db.paging import KeyValue, Order, SortKey
from resolvers import snapshot_index
from resolvers.snapshot import Snapshot
from simulator import Metrics

Column = Callable[[Snapshot, Metrics | None], np.ndarray]


@dataclass(frozen=True)
class _Key:
    """One sort key: how a cursor carries it, and its numeric column over the snapshot (NaN = null)."""

    cursor: SortKey
    column: Column


def _metric(attr: str) -> _Key:
    def column(snap: Snapshot, metrics: Metrics | None) -> np.ndarray:
        assert metrics is not None, "metric orders are resolved with their window"
        return getattr(metrics, attr)  # type: ignore[no-any-return]

    return _Key(SortKey(attr, float, nullable=True), column)


def _version(part: int) -> _Key:
    return _Key(SortKey(f"version_{('major', 'minor', 'patch')[part]}", int), lambda s, m: s.version[:, part])


# Every orderable field. Cursor attributes keep the names SQL keyset cursors had, so cursors a
# client holds keep working; times are epoch seconds in the snapshot and datetimes in cursors.
FIELDS: dict[str, tuple[_Key, ...]] = {
    "CREATED_AT": (_Key(SortKey("created_at", datetime), lambda s, m: s.created_at),),
    "UPDATED_AT": (_Key(SortKey("updated_at", datetime), lambda s, m: s.updated_at),),
    # Names by code point, as SQLite's BINARY and PostgreSQL's "C" collation order them.
    "MODEL_NAME": (_Key(SortKey("model_name", str), lambda s, m: snapshot_index.names(s).row_rank),),
    "VERSION": (_version(0), _version(1), _version(2)),
    "STATUS": (_Key(SortKey("status", int), lambda s, m: s.status),),  # codes follow the lifecycle
    "REQUEST_VOLUME": (_metric("request_volume"),),
    "P50_LATENCY": (_metric("p50"),),
    "P95_LATENCY": (_metric("p95"),),
    "P99_LATENCY": (_metric("p99"),),
    "ERROR_RATE": (_metric("error_rate"),),
}
METRIC_FIELDS = frozenset(name for name, keys in FIELDS.items() if keys[0].cursor.nullable)
_ID = _Key(SortKey("id", int), lambda s, m: s.ids)


@dataclass(frozen=True)
class Ordering:
    """Resolved (field, descending) pairs; the id breaks ties in the last field's direction."""

    keys: tuple[tuple[_Key, bool], ...]
    needs_window: bool

    @classmethod
    def of(cls, fields: Sequence[tuple[str, bool]]) -> "Ordering":
        keys = [(key, desc) for field, desc in fields for key in FIELDS[field]]
        keys.append((_ID, fields[-1][1]))
        return cls(tuple(keys), any(field in METRIC_FIELDS for field, _ in fields))

    @property
    def cursor_order(self) -> Order:
        """The order cursors are made for and validated against."""
        return Order(tuple((key.cursor, desc) for key, desc in self.keys))


class Columns:
    """An ordering's columns over one snapshot, as ascending-comparable floats (nulls last)."""

    def __init__(self, snap: Snapshot, ordering: Ordering, metrics: Metrics | None) -> None:
        self.snap = snap
        self.keys = ordering.keys
        self.raw = [key.column(snap, metrics) for key, _ in ordering.keys]

    def arrays(self, rows: np.ndarray | None) -> list[np.ndarray]:
        out = []
        for raw, (_, desc) in zip(self.raw, self.keys, strict=True):
            v = (raw if rows is None else raw[rows]).astype(np.float64)
            if desc:
                np.negative(v, out=v)
            v[np.isnan(v)] = np.inf
            out.append(v)
        return out

    def at(self, pos: int) -> tuple[float, ...]:
        return tuple(
            _comparable(float(raw[pos]), desc) for raw, (_, desc) in zip(self.raw, self.keys, strict=True)
        )

    def cursor(self, values: Sequence[KeyValue]) -> tuple[float, ...]:
        """A cursor's values in the same comparable form as `at`."""
        out = []
        for value, (_, desc) in zip(values, self.keys, strict=True):
            if value is None:
                number = np.nan
            elif isinstance(value, datetime):
                number = value.timestamp()  # how the snapshot converted the stored time
            elif isinstance(value, str):
                number = snapshot_index.names(self.snap).position_of(value)
            else:
                number = float(value)
            out.append(_comparable(number, desc))
        return tuple(out)

    def values_at(self, pos: int) -> tuple[KeyValue, ...]:
        """Row `pos`'s cursor values: what the page was sorted by, from the snapshot."""
        out: list[KeyValue] = []
        for raw, (key, _) in zip(self.raw, self.keys, strict=True):
            value = raw[pos]
            if key.cursor.kind is datetime:
                out.append(datetime.fromtimestamp(float(value), UTC))  # exact: stored as whole µs
            elif key.cursor.kind is str:
                out.append(snapshot_index.names(self.snap).ordered[int(value)])
            elif key.cursor.kind is int:
                out.append(int(value))
            else:
                out.append(None if np.isnan(value) else float(value))
        return tuple(out)


class Keys(Sequence[tuple[KeyValue, ...]]):
    """The page's cursor values, each made when read (its cursor is; most tables read none)."""

    def __init__(self, columns: Columns, positions: np.ndarray) -> None:
        self.columns, self.positions = columns, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> tuple[KeyValue, ...]:  # type: ignore[override]  # no slices
        return self.columns.values_at(int(self.positions[i]))


def _comparable(number: float, desc: bool) -> float:
    if number != number:  # NaN: null sorts last in both directions
        return np.inf
    return -number if desc else number


class SortedView:
    """Comparable tuples of rows in sorted order, indexable for bisect without building them all."""

    def __init__(self, seq: np.ndarray, columns: Columns) -> None:
        self.seq, self.columns = seq, columns

    def __len__(self) -> int:
        return len(self.seq)

    def __getitem__(self, i: int) -> tuple[float, ...]:
        return self.columns.at(int(self.seq[i]))
