"""Inference figures for deployments, from the fleet snapshot: per-window, history, health, stats."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
from strawberry.dataloader import DataLoader

from domain import DEPLOYMENT_STATUSES
from domain import Health as Level
from resolvers.metric_records import (
    HEALTH_NAMES,
    HealthRecord,
    MetricsRecord,
    SeriesRecord,
    StatsRecord,
    record,
    records_of,
    silent,
    window_of,
    window_start,
)
from resolvers.snapshot import Snapshot
from resolvers.status_history import NOT_YET
from simulator import (
    NO_TRAFFIC,
    RANGES,
    WINDOW_SECONDS,
    Figures,
    Health,
    Metrics,
    assess_health,
    compute_metrics,
    compute_series,
    health_reasons,
    together,
)

Key = tuple[int, int]  # (deployment id, window)
SeriesKey = tuple[int, str, int]  # (deployment id, range name, last window)


@dataclass(frozen=True)
class _Figures:
    """Row j of a batch's figures."""

    m: Metrics
    j: int
    health: Health | None
    usual: tuple[np.ndarray, np.ndarray]  # usual P50 and P95 of the batch's deployments


def _health_of(snap: Snapshot, pos: np.ndarray, window: int, m: Metrics) -> Health:
    """Health of some deployments: from the fleet-wide pass when one was made, else for them alone.

    Both are the same pure function of the same windows, so they agree.
    """
    fleet_wide = snap.cached_health(window)
    if fleet_wide is None:
        return assess_health(snap.fleet, pos, window, current=m)
    return Health(
        code=fleet_wide.code[pos],
        levels=fleet_wide.levels[:, pos],
        hits=fleet_wide.hits[:, pos],
        trailing=fleet_wide.trailing[pos],
    )


def _figures_of(snap: Snapshot, keys: Sequence[Key], with_health: bool) -> list[_Figures | None]:
    """Figures of (deployment id, window) keys: one numpy pass per window; None for ids not in the fleet."""
    by_window: dict[int, list[int]] = defaultdict(list)
    for k, (_, window) in enumerate(keys):
        by_window[window].append(k)
    out: list[_Figures | None] = [None] * len(keys)
    for window, members in by_window.items():
        pos = snap.positions(np.array([keys[k][0] for k in members], dtype=np.int64))
        found = pos >= 0
        if not found.any():
            continue
        pos = pos[found]
        # Prefer the fleet-wide pass a sorted page already made: the very figures it sorted by.
        fleet_wide = snap.cached_metrics(window)
        if fleet_wide is not None:
            m = Metrics(*(getattr(fleet_wide, f.name)[pos] for f in fields(Metrics)))
        else:
            m = compute_metrics(snap.fleet, pos, np.int64(window))
        health = _health_of(snap, pos, window, m) if with_health else None
        traits = snap.fleet.traits
        usual = (traits.usual_p50[pos], traits.usual_p95[pos])
        for j, k in enumerate(np.array(members)[found].tolist()):
            out[k] = _Figures(m, j, health, usual)
    return out


class PageFigures:
    """The metrics of one listing's page at its instant, for every row at once when the first node asks.

    The same figures the loader gives, without a DataLoader load and an async resolver per node: the
    page's nodes resolve `metrics` synchronously (a 50-row page was 50 tasks, futures and a gather).
    """

    __slots__ = ("_fleet_wide", "_ids", "_records", "_snap", "window")

    def __init__(self, snap: Snapshot, ids: list[int], window: int, *, fleet_wide: bool = False) -> None:
        self._snap = snap
        self._ids = ids
        self.window = window
        # The current window's figures: the snapshot's one fleet-wide pass (6 ms at 100k, once per
        # window and revision) serves every page of every poller, where each page paid ~1 ms for its own.
        self._fleet_wide = fleet_wide
        self._records: dict[int, MetricsRecord] | None = None

    def metrics(self, deployment_id: int) -> MetricsRecord | None:
        """The row's figures; None for an id not on the page."""
        if self._records is None:
            if self._fleet_wide:
                self._snap.metrics(self.window)  # _figures_of then reads the rows from it
            keys = [(i, self.window) for i in self._ids]
            figures = _figures_of(self._snap, keys, with_health=False)
            found = next((f for f in figures if f is not None), None)
            # One window: one Metrics for every row found; its columns converted once, not per value.
            built = records_of(found.m) if found is not None else []
            self._records = {
                i: built[f.j] if f else silent(self.window) for i, f in zip(self._ids, figures, strict=True)
            }
        return self._records.get(deployment_id)


class FiguresLoader:
    """Batches every metrics and health field of a response into one numpy pass per window, and
    every deployment chart into one per range and window."""

    def __init__(self, snapshot: Callable[[], Awaitable[Snapshot]]) -> None:
        self._snapshot = snapshot
        self.metrics = DataLoader(self._metrics)
        self.health = DataLoader(self._health)
        self.series = DataLoader(self._series)

    async def _figures(self, keys: Sequence[Key], with_health: bool) -> list[_Figures | None]:
        return _figures_of(await self._snapshot(), keys, with_health)

    async def _metrics(self, keys: Sequence[Key]) -> list[MetricsRecord]:
        figures = await self._figures(keys, with_health=False)
        return [record(f.m, f.j) if f else silent(w) for f, (_, w) in zip(figures, keys, strict=True)]

    async def _series(self, keys: Sequence[SeriesKey]) -> list[SeriesRecord]:
        return _series_of(await self._snapshot(), keys)

    async def _health(self, keys: Sequence[Key]) -> list[HealthRecord]:
        out = []
        for f in await self._figures(keys, with_health=True):
            if f is None:
                out.append(HealthRecord(Level.NO_TRAFFIC, ["Not serving traffic"]))
                continue
            assert f.health is not None
            m, j, h = f.m, f.j, f.health
            code = int(h.code[j])
            figures = Figures(
                p50=float(m.p50[j]),
                p95=float(m.p95[j]),
                error_rate=float(m.error_rate[j]),
                volume=float(m.request_volume[j]),
                trailing=float(h.trailing[j]),
                usual_p50=float(f.usual[0][j]),
                usual_p95=float(f.usual[1][j]),
            )
            reasons = health_reasons(
                h.levels[:, j].tolist(), h.hits[:, j].tolist(), figures, bool(m.serving[j])
            )
            out.append(HealthRecord(HEALTH_NAMES[code], [] if code == 0 else reasons))
        return out


def _silent_series(range_name: str, end: int) -> SeriesRecord:
    """The chart of a deployment (or model) not in the fleet (e.g. deleted meanwhile): no traffic."""
    step, points = RANGES[range_name]
    records = [silent(end - step * (points - 1 - i)) for i in range(points)]
    return SeriesRecord(range=range_name, step_seconds=step * WINDOW_SECONDS, points=records)


def _series_of(snap: Snapshot, keys: Sequence[SeriesKey]) -> list[SeriesRecord]:
    """Charts of (deployment id, range, last window) keys: one simulator pass per range and window,
    so a table's sparklines cost one pass, not one per row."""
    by_chart: dict[tuple[str, int], list[int]] = defaultdict(list)
    for k, (_, range_name, end) in enumerate(keys):
        by_chart[range_name, end].append(k)
    out: list[SeriesRecord | None] = [None] * len(keys)
    for (range_name, end), members in by_chart.items():
        pos = snap.positions(np.array([keys[k][0] for k in members], dtype=np.int64))
        found = (pos >= 0).nonzero()[0]
        if found.size == 0:
            continue
        step, points = RANGES[range_name]
        m = compute_series(snap.fleet, pos[found], end, step, points)
        for row, k in enumerate(np.array(members)[found].tolist()):
            records = records_of(Metrics(*(getattr(m, f.name)[row] for f in fields(Metrics))), step)
            out[k] = SeriesRecord(range=range_name, step_seconds=step * WINDOW_SECONDS, points=records)
    return [_silent_series(*key[1:]) if s is None else s for s, key in zip(out, keys, strict=True)]


def model_metrics(snap: Snapshot, positions: np.ndarray, as_of: datetime) -> MetricsRecord:
    """A model's figures in the window holding `as_of`: its versions' (snapshot positions) together."""
    window = window_of(as_of)
    if positions.size == 0:
        return silent(window)
    fleet_wide = snap.cached_metrics(window)
    if fleet_wide is not None:
        m = Metrics(*(getattr(fleet_wide, f.name)[positions][None, :] for f in fields(Metrics)))
    else:
        m = compute_metrics(snap.fleet, positions[None, :], np.int64(window))
    return record(together(m), 0)


def model_history(snap: Snapshot, positions: np.ndarray, range_name: str, as_of: datetime) -> SeriesRecord:
    """A model's chart: each version's series, then each point's versions together."""
    end = window_of(as_of)
    if positions.size == 0:
        return _silent_series(range_name, end)
    step, points = RANGES[range_name]
    each = compute_series(snap.fleet, positions, end, step, points)  # (versions, points)
    m = together(Metrics(*(getattr(each, f.name).T for f in fields(Metrics))))
    return SeriesRecord(range=range_name, step_seconds=step * WINDOW_SECONDS, points=records_of(m, step))


def stats(snap: Snapshot, as_of: datetime, past: bool = False) -> StatsRecord:
    """Fleet-wide summary for one window: one pass over the snapshot's arrays.

    `past`: the fleet as it was at `as_of` (an asOf the request gave): the deployments created by then,
    with the statuses their trails give them then (as `statusAt`); else the fleet as it is."""
    window = window_of(as_of)
    m = snap.metrics(window)
    codes = snap.health(window).code
    if past:
        status = snap.statuses_at(as_of.timestamp())
        existed = status != NOT_YET
        status, codes = status[existed], codes[existed]
    else:
        status = snap.status
    status_counts = np.bincount(status, minlength=len(DEPLOYMENT_STATUSES))
    health_counts = np.bincount(codes, minlength=len(HEALTH_NAMES))
    requests = int(m.request_count.sum())
    traffic = m.request_count > 0
    p95 = float((m.p95[traffic] * m.request_count[traffic]).sum() / requests) if requests else None
    return StatsRecord(
        as_of=window_start(window),
        window_seconds=WINDOW_SECONDS,
        next_update_at=window_start(window + 1),
        total=len(status),
        by_status=[(name, int(n)) for name, n in zip(DEPLOYMENT_STATUSES, status_counts, strict=True)],
        by_health=[(name, int(n)) for name, n in zip(HEALTH_NAMES, health_counts, strict=True)],
        total_request_volume=float(m.request_volume.sum()),
        p95=p95,
        error_rate=100.0 * int(m.error_count.sum()) / requests if requests else None,
    )


assert HEALTH_NAMES[NO_TRAFFIC] == Level.NO_TRAFFIC
