"""Compact, columnar reads of the deployment fleet for the metrics cache: no ORM objects."""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from db.models import Deployment, DeploymentEvent, FleetState
from domain import (
    ACTIVATE,
    DEPLOY,
    MODEL_SIZES,
    MOVES,
    RESTARTS_SERVING,
    STATUS_CODE,
    STOPS_SERVING,
    EventKind,
)


def _no_steps() -> np.ndarray:
    return np.zeros(0, np.int64)


@dataclass(frozen=True)
class Timelines:
    """Deployments' not-serving intervals (owner id, start, end: +inf while still off), the steps
    of their shares of their models' traffic (owner id, when, the share from then: 0..1), and the
    moves of their statuses that the row does not date itself (owner id, when, status code: see
    STATUS_STEPS), each deployment's in the order of its trail; epoch s."""

    pause_owner: np.ndarray  # int64
    pause_start: np.ndarray  # float64
    pause_end: np.ndarray  # float64
    share_owner: np.ndarray  # int64
    share_at: np.ndarray  # float64
    share_value: np.ndarray  # float32
    status_owner: np.ndarray = field(default_factory=_no_steps)  # int64
    status_at: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64
    status_code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # int8

    @classmethod
    def empty(cls) -> "Timelines":
        i64, f64 = np.zeros(0, np.int64), np.zeros(0)
        return cls(i64, f64, f64, i64, f64, np.zeros(0, np.float32), i64, f64, np.zeros(0, np.int8))

    def merged(self, changed: "Timelines", changed_ids: np.ndarray, live_ids: np.ndarray) -> "Timelines":
        """These entries with those of `changed_ids` replaced by `changed`'s for the ones still live
        (`live_ids`); a pause that ends where it starts is dropped."""
        pauses = ~np.isin(self.pause_owner, changed_ids)
        new_pauses = np.isin(changed.pause_owner, live_ids) & (changed.pause_start < changed.pause_end)
        shares = ~np.isin(self.share_owner, changed_ids)
        new_shares = np.isin(changed.share_owner, live_ids)
        moves = ~np.isin(self.status_owner, changed_ids)
        new_moves = np.isin(changed.status_owner, live_ids)
        return Timelines(
            *(np.concatenate((getattr(self, f)[pauses], getattr(changed, f)[new_pauses])) for f in _PAUSE),
            *(np.concatenate((getattr(self, f)[shares], getattr(changed, f)[new_shares])) for f in _SHARE),
            *(np.concatenate((getattr(self, f)[moves], getattr(changed, f)[new_moves])) for f in _STATUS),
        )


_PAUSE = ("pause_owner", "pause_start", "pause_end")
_SHARE = ("share_owner", "share_at", "share_value")
_STATUS = ("status_owner", "status_at", "status_code")


@dataclass(frozen=True)
class FleetRows:
    """Deployments written after some revision, as parallel arrays (times are epoch seconds)."""

    ids: np.ndarray  # int64
    deleted: np.ndarray  # bool
    status: np.ndarray  # int8 index into DEPLOYMENT_STATUSES
    size: np.ndarray  # int8 index into MODEL_SIZES
    training_job_id: np.ndarray  # int64
    created_at: np.ndarray  # float64
    updated_at: np.ndarray  # float64
    activated_at: np.ndarray  # float64, NaN = never activated
    version: np.ndarray  # int64, shape (n, 3): major, minor, patch
    model_name: list[str]
    model_name_folded: list[str]  # as stored: what name filters match against
    timelines: Timelines  # their not-serving intervals and share steps


async def revision(session: AsyncSession) -> int:
    return int((await session.scalar(select(FleetState.revision).where(FleetState.id == 1))) or 0)


_CHUNK = 50_000  # rows converted at a time: a full load never holds a million rows as Python objects


def _epoch(values: Sequence[object]) -> np.ndarray:
    """Epoch seconds (NaN for null) of raw timestamps: PostgreSQL's aware datetimes, or SQLite's
    stored UTC text, which numpy parses exactly to the microsecond (per-value datetime parsing
    was a quarter of a full load's time)."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, str):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. an offset numpy would only warn about
                parsed = np.array(values, dtype="datetime64[us]")
        except (ValueError, Warning):
            return _epoch([None if v is None else _from_text(v) for v in values])
        out = parsed.astype(np.int64) / 1e6  # the same float as datetime.timestamp()
        out[np.isnat(parsed)] = np.nan
        return out
    return np.array([np.nan if v is None else v.timestamp() for v in values], dtype=np.float64)  # type: ignore[attr-defined]


def _from_text(value: object) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed  # SQLite holds UTC


def _raw(column: Any) -> Any:
    """A timestamp column as the driver returns it, without per-value conversion."""
    return type_coerce(column, NullType()).label(column.key)


_COLUMNS = (
    Deployment.id,
    Deployment.deleted_at,
    Deployment.status,
    Deployment.model_size,
    Deployment.training_job_id,
    _raw(Deployment.created_at),
    _raw(Deployment.updated_at),
    _raw(Deployment.activated_at),
    Deployment.version_major,
    Deployment.version_minor,
    Deployment.version_patch,
    Deployment.model_name,
    Deployment.model_name_folded,
)
# The moves of a status the snapshot reads from the trail (the status each leaves, as a code): all but
# DEPLOY and ACTIVATE, whose instants the row keeps (created_at, activated_at). The events that leave
# the status as it was (a traffic share, an alias, a rollout) change nothing of it.
STATUS_STEPS: dict[str, int] = {
    m.kind: STATUS_CODE[m.target] for m in MOVES if m.target is not None and m not in (DEPLOY, ACTIVATE)
}
_SIZE_CODE = {name: i for i, name in enumerate(MODEL_SIZES)}


def _chunk(rows: Sequence[Any], names: dict[str, str]) -> list[np.ndarray | list[str]]:
    """One chunk of rows as columns; repeated names share one string object (`names`)."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in _COLUMNS]
    return [
        np.array(cols[0], dtype=np.int64),
        np.array([v is not None for v in cols[1]], dtype=bool),
        np.array([STATUS_CODE[v] for v in cols[2]], dtype=np.int8),
        np.array([_SIZE_CODE[v] for v in cols[3]], dtype=np.int8),
        np.array(cols[4], dtype=np.int64),
        _epoch(cols[5]),
        _epoch(cols[6]),
        _epoch(cols[7]),
        np.array(list(zip(cols[8], cols[9], cols[10], strict=True)), dtype=np.int64).reshape(-1, 3),
        [names.setdefault(v, v) for v in cols[11]],
        [names.setdefault(v, v) for v in cols[12]],
    ]


async def changed_since(session: AsyncSession, since: int) -> FleetRows:
    """Every deployment (deleted ones too) written after revision `since`, with its pauses.

    Unordered (the snapshot sorts by id in numpy) and streamed in chunks: a first load reads
    the whole table once, without asking the database to sort it or Python to hold it."""
    stmt = select(*_COLUMNS).where(Deployment.revision > since)
    names: dict[str, str] = {}
    parts = [_chunk([], names)]
    # Core rows, not through the ORM's loading: a quarter of a full load's time went there.
    connection = await session.connection()
    result = await connection.stream(stmt.execution_options(yield_per=_CHUNK))
    async for rows in result.partitions(_CHUNK):
        parts.append(_chunk(rows, names))
    cols = [
        np.concatenate(column) if isinstance(column[0], np.ndarray) else [v for part in column for v in part]
        for column in zip(*parts, strict=True)
    ]
    t = await _timelines(session, select(Deployment.id).where(Deployment.revision > since))
    return FleetRows(*cols, timelines=t)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Timeline:
    """One deployment's not-serving intervals and share steps (epoch seconds), as the snapshot has them."""

    off: list[tuple[float, float]]
    shares: list[tuple[float, float]]  # (when, share of the model's traffic from then, 0..1)


async def timeline(session: AsyncSession, deployment_id: int) -> Timeline:
    t = await _timelines(session, select(literal(deployment_id)))
    return Timeline(
        list(zip(t.pause_start.tolist(), t.pause_end.tolist(), strict=True)),
        list(zip(t.share_at.tolist(), t.share_value.tolist(), strict=True)),
    )


async def model_first_activation(session: AsyncSession, model_name: str) -> float:
    """When any version of the model (deleted ones too) was first activated: its traffic's start."""
    first = await session.scalar(
        select(func.min(_raw(Deployment.activated_at))).where(Deployment.model_name == model_name)
    )
    return float(_epoch([first])[0])


async def _timelines(session: AsyncSession, changed: Any) -> Timelines:
    """Not-serving intervals: paused, from each event that stops serving (PAUSED) to the next that
    restarts it (RESUMED: the moves' `serving` in domain.py). And each TRAFFIC_CHANGED as a step of
    the share: (owner, when, percent / 100), in force from the next window start (the simulator's
    rule); a standby's step is 0, which leaves it warm, not off. A version with no traffic event yet
    (stored before the split existed) serves whenever it is not paused, with all its model's
    traffic. And each move in STATUS_STEPS as a step of the status: (owner, when, status code)."""
    stmt = select(
        DeploymentEvent.deployment_id,
        DeploymentEvent.kind,
        DeploymentEvent.at,
        DeploymentEvent.id,
        DeploymentEvent.traffic_to,
    ).where(
        DeploymentEvent.kind.in_(
            (*STOPS_SERVING, *RESTARTS_SERVING, *STATUS_STEPS, EventKind.TRAFFIC_CHANGED)
        ),
        DeploymentEvent.deployment_id.in_(changed),
    )
    events = (await session.execute(stmt)).all()
    # In each deployment's own order of events, sorted here rather than by the database.
    events.sort(key=lambda e: (e[0], e[2], e[3]))
    owners: list[int] = []
    starts: list[float] = []
    ends: list[float] = []
    steps: list[tuple[int, float, float]] = []
    moves: list[tuple[int, float, int]] = []
    owner_now, paused = None, False
    for owner, kind, at, _, traffic_to in events:
        if owner != owner_now:
            owner_now, paused = owner, False
        t = at.timestamp()
        if kind in STATUS_STEPS:
            moves.append((owner, t, STATUS_STEPS[kind]))
        if kind in STOPS_SERVING and not paused:
            paused = True
            owners.append(owner)
            starts.append(t)
            ends.append(np.inf)
        elif kind in RESTARTS_SERVING and paused:
            paused = False
            ends[-1] = t
        elif kind == EventKind.TRAFFIC_CHANGED:
            steps.append((owner, t, min(max(float(traffic_to or 0.0) / 100.0, 0.0), 1.0)))
    step_columns = list(zip(*steps, strict=True)) if steps else [(), (), ()]
    kept = np.array(starts) < np.array(ends)  # a pause resumed at its own instant never was
    move_columns = list(zip(*moves, strict=True)) if moves else [(), (), ()]
    return Timelines(
        np.array(owners, dtype=np.int64)[kept],
        np.array(starts)[kept],
        np.array(ends)[kept],
        np.array(step_columns[0], dtype=np.int64),
        np.array(step_columns[1], dtype=np.float64),
        np.array(step_columns[2], dtype=np.float32),
        np.array(move_columns[0], dtype=np.int64),
        np.array(move_columns[1], dtype=np.float64),
        np.array(move_columns[2], dtype=np.int8),
    )
