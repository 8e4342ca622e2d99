"""A week of every window of a 1,200-deployment fleet, simulated once per test session.

Computed a day at a time (plus the four windows health looks back on) and kept in
compact dtypes, so the realism tests can check what must hold over a whole week.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np

from simulator import HEALTH_WINDOWS, NO_TRAFFIC, Fleet, compute_metrics, window_levels
from simulator.health import persistent
from simulator.incidents import incidents

T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
W0 = int(T0 // 60)
DAY = 1440  # windows
DAYS = 7
N = 1200
SIZES = np.arange(N) % 3
IDS = np.arange(N) * 7_919 + 13
MODELS = np.arange(N) // 4  # four versions per model name, of mixed sizes
LOOK_BACK = HEALTH_WINDOWS - 1


def make_fleet(activated_at: float = T0 - 30 * 86_400.0) -> Fleet:
    """N deployments of mixed sizes with scattered ids, all activated at one instant."""
    return Fleet.build(IDS, SIZES, np.full(N, activated_at), model=MODELS)


@dataclass(frozen=True)
class Week:
    """Per (deployment, window) over DAYS days from W0, every window."""

    fleet: Fleet
    windows: np.ndarray
    count: np.ndarray  # int32 requests
    errors: np.ndarray  # int32
    p50: np.ndarray  # float32 ms, NaN without requests
    p95: np.ndarray
    p99: np.ndarray
    replicas: np.ndarray  # int8
    utilization: np.ndarray  # float32 percent
    code: np.ndarray  # int8 health
    kind: np.ndarray  # int8 incident kind, 0 outside incidents
    level: np.ndarray  # float32 incident level
    calm: np.ndarray  # bool: serving, and no incident in this window or the HEALTH_WINDOWS - 1 before


def incident_kinds(fleet: Fleet, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Incident kind (0 for none) and level of every deployment of the fleet in every window."""
    position, window = (a.ravel() for a in np.broadcast_arrays(np.arange(fleet.n)[:, None], windows[None, :]))
    t = fleet.traits
    found = incidents(
        t.key[position],
        t.proneness[position],
        t.pool[position],
        t.week_start[position],
        window - fleet.act_window[position],
        window,
    )
    kind = np.zeros(position.size, dtype=np.int8)
    level = np.zeros(position.size, dtype=np.float32)
    kind[found.where], level[found.where] = found.kind, found.level
    return kind.reshape(fleet.n, windows.size), level.reshape(fleet.n, windows.size)


def _day(fleet: Fleet, first: int) -> dict[str, np.ndarray]:
    """One day of figures, health from raw levels over the day plus the LOOK_BACK windows before."""
    windows = first + np.arange(-LOOK_BACK, DAY)
    m = compute_metrics(fleet, np.arange(N)[:, None], windows[None, :])
    raw = window_levels(fleet, np.arange(N)[:, None], m)  # (RULES, N, windows)
    run = np.stack([raw[:, :, k : k + DAY] for k in range(HEALTH_WINDOWS)])
    held, _ = persistent(run)
    serving = m.serving[:, LOOK_BACK:]
    kind, level = incident_kinds(fleet, windows)
    near = np.zeros((N, DAY), dtype=bool)
    for k in range(HEALTH_WINDOWS):
        near |= kind[:, k : k + DAY] != 0
    day = slice(LOOK_BACK, None)
    return {
        "count": m.request_count[:, day].astype(np.int32),
        "errors": m.error_count[:, day].astype(np.int32),
        "p50": m.p50[:, day].astype(np.float32),
        "p95": m.p95[:, day].astype(np.float32),
        "p99": m.p99[:, day].astype(np.float32),
        "replicas": m.replicas[:, day].astype(np.int8),
        "utilization": m.utilization[:, day].astype(np.float32),
        "code": np.where(serving, held.max(axis=0), NO_TRAFFIC).astype(np.int8),
        "kind": kind[:, day],
        "level": level[:, day],
        "calm": serving & ~near,
    }


@cache
def week() -> Week:
    """The fleet's week, computed once."""
    fleet = make_fleet()
    days = [_day(fleet, W0 + d * DAY) for d in range(DAYS)]
    joined = {name: np.concatenate([d[name] for d in days], axis=1) for name in days[0]}
    return Week(fleet=fleet, windows=W0 + np.arange(DAYS * DAY), **joined)
