"""The fleet: what the simulator knows about each deployment, as parallel arrays.

A deployment serves in window w iff its first activation is at or before the
window start w * 60 and the window overlaps none of its not-serving intervals
[off_start, off_end) at its start or later: every window is wholly serving or not.
A pause takes effect in the window it happens in (a paused deployment never shows
traffic for the rest of that minute), while activation and resume take effect at
the next window start (a full window of traffic, not a partial one).

`model` keys the deployment's model (a stable hash of its name): deployments of one
model share its traffic rhythm. Traits (simulator/profile.py) are derived once here.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from domain import MODEL_SIZES  # integer size codes: an index into it

from .profile import Traits, traits
from .windows import first_window_starting_at_or_after, window_of


@dataclass(frozen=True)
class Fleet:
    """Struct-of-arrays of what the simulator needs per deployment (length n)."""

    ids: np.ndarray  # int64 database ids: the hash key
    size: np.ndarray  # int8: 0 NANO, 1 SMALL, 2 LARGE
    activated_at: np.ndarray  # float64 epoch s of first activation; NaN = never activated
    off_ptr: np.ndarray  # int64, length n + 1: CSR pointers into off_start / off_end
    off_start: np.ndarray  # float64 start of a not-serving interval (paused); sorted per deployment
    off_end: np.ndarray  # float64 its end (resume time); +inf while still paused
    model: np.ndarray | None = None  # int64 model keys; None: every deployment its own model
    # Derived in __post_init__: the same facts as window indices, for the serving test.
    act_window: np.ndarray = field(init=False, repr=False, compare=False)
    off_start_window: np.ndarray = field(init=False, repr=False, compare=False)
    off_end_window: np.ndarray = field(init=False, repr=False, compare=False)
    bisect_steps: int = field(init=False, repr=False, compare=False)
    paused_ever: np.ndarray = field(init=False, repr=False, compare=False)  # bool: has intervals
    # Derived from ids, size and model unless given (a caller that merges fleets keeps the
    # traits of unchanged deployments instead of hashing every id again).
    traits: Traits = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    # What the simulator derives from the fleet once and reuses (simulator/incidents.py):
    # the fleet never changes, so neither do these.
    cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Normalise dtypes, check the CSR layout and derive window indices."""
        arrays = {
            "ids": np.ascontiguousarray(self.ids, dtype=np.int64),
            "size": np.ascontiguousarray(self.size, dtype=np.int8),
            "activated_at": np.ascontiguousarray(self.activated_at, dtype=np.float64),
            "off_ptr": np.ascontiguousarray(self.off_ptr, dtype=np.int64),
            "off_start": np.ascontiguousarray(self.off_start, dtype=np.float64),
            "off_end": np.ascontiguousarray(self.off_end, dtype=np.float64),
            "model": np.ascontiguousarray(self.ids if self.model is None else self.model, dtype=np.int64),
        }
        for name, value in arrays.items():
            object.__setattr__(self, name, value)
        _validate(self)
        object.__setattr__(self, "act_window", first_window_starting_at_or_after(self.activated_at))
        # The window a pause starts in is already off (floor); activation and resume count from
        # the first window starting at or after them (ceil).
        object.__setattr__(self, "off_start_window", window_of(self.off_start))
        object.__setattr__(self, "off_end_window", first_window_starting_at_or_after(self.off_end))
        object.__setattr__(self, "paused_ever", self.off_ptr[1:] > self.off_ptr[:-1])
        most = int(np.diff(self.off_ptr).max(initial=0))
        object.__setattr__(self, "bisect_steps", most.bit_length())
        if self.traits is None:
            object.__setattr__(self, "traits", traits(self.ids, self.size, self.model))
        elif self.traits.key.shape != self.ids.shape:
            raise ValueError("traits must have one entry per deployment")

    @property
    def n(self) -> int:
        """Number of deployments."""
        return len(self.ids)

    @classmethod
    def build(
        cls,
        ids: Sequence[int] | np.ndarray,
        size: Sequence[int] | np.ndarray,
        activated_at: Sequence[float] | np.ndarray,
        off_intervals: Sequence[Sequence[tuple[float, float]]] | None = None,
        model: Sequence[int] | np.ndarray | None = None,
    ) -> "Fleet":
        """Fleet from per-deployment lists of (start, end) pauses, sorted and merged here."""
        n = len(ids)
        if off_intervals is None:
            off_intervals = [()] * n
        if len(off_intervals) != n:
            raise ValueError(f"off_intervals has {len(off_intervals)} entries for {n} deployments")
        # The input is Python lists, so flattening them is Python work anyway.
        merged = [_merge(intervals) for intervals in off_intervals]
        counts = np.fromiter((len(m) for m in merged), dtype=np.int64, count=n)
        flat = [pair for m in merged for pair in m]
        bounds = np.array(flat, dtype=np.float64).reshape(-1, 2)
        return cls(
            ids=np.asarray(ids, dtype=np.int64),
            size=np.asarray(size, dtype=np.int8),
            activated_at=np.asarray(activated_at, dtype=np.float64),
            off_ptr=np.concatenate(([0], np.cumsum(counts))),
            off_start=bounds[:, 0],
            off_end=bounds[:, 1],
            model=None if model is None else np.asarray(model, dtype=np.int64),
        )


def _merge(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, non-overlapping, non-empty version of one deployment's intervals."""
    out: list[tuple[float, float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in intervals):
        if not start < end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _validate(fleet: Fleet) -> None:
    """Raise ValueError unless the arrays form a consistent fleet."""
    n = len(fleet.ids)
    if fleet.ids.ndim != 1 or any(a.shape != (n,) for a in (fleet.size, fleet.activated_at, fleet.model)):
        raise ValueError("ids, size, activated_at and model must be 1-D arrays of one length")
    if fleet.size.size and (fleet.size.min() < 0 or fleet.size.max() >= len(MODEL_SIZES)):
        raise ValueError("size must be 0 (NANO), 1 (SMALL) or 2 (LARGE)")
    ptr, start, end = fleet.off_ptr, fleet.off_start, fleet.off_end
    if ptr.shape != (n + 1,) or ptr[0] != 0 or ptr[-1] != len(start) or np.any(np.diff(ptr) < 0):
        raise ValueError("off_ptr must be n + 1 non-decreasing pointers from 0 to len(off_start)")
    if end.shape != start.shape:
        raise ValueError("off_start and off_end must have one length")
    if not np.all(start < end) or np.isnan(start).any():
        raise ValueError("every not-serving interval needs off_start < off_end")
    # Intervals of one deployment must be sorted and disjoint for the bisection.
    same_owner = np.ones(len(start), dtype=bool)
    same_owner[ptr[:-1][np.diff(ptr) > 0]] = False
    if np.any(start[1:][same_owner[1:]] < end[:-1][same_owner[1:]]):
        raise ValueError("a deployment's not-serving intervals must be sorted and disjoint")


def serving_mask(fleet: Fleet, position: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Whether deployment fleet[position[k]] serves in window[k] (1-D int64 arrays)."""
    return serving_and_start(fleet, position, window)[0]


def serving_and_start(
    fleet: Fleet,
    position: np.ndarray,
    window: np.ndarray | int,
    gather: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each pair serves, and the window its current stretch of serving began.

    The start is the activation window, or the resume window of the last pause before;
    it is meaningful only where the pair serves (replicas start cold there). `gather`
    may give per-pair values of a per-deployment array (a view where it can: read only);
    `window` may be one int, every pair's window.
    """
    start = fleet.act_window.take(position) if gather is None else gather(fleet.act_window)
    serving = window >= start
    paused_ever = fleet.paused_ever.take(position) if gather is None else gather(fleet.paused_ever)
    candidates = np.flatnonzero(serving & paused_ever)
    if candidates.size == 0:
        return serving, start
    pos = position[candidates]
    win = window if isinstance(window, int) else window[candidates]
    first = fleet.off_ptr[pos]
    lo, hi = first.copy(), fleet.off_ptr[pos + 1]
    last = len(fleet.off_start) - 1
    # Vectorised bisection: a few steps (log2 of the most intervals any deployment has).
    for _ in range(fleet.bisect_steps):
        mid = (lo + hi) >> 1
        starts_before = fleet.off_start_window[np.minimum(mid, last)] <= win
        open_range = lo < hi
        lo = np.where(open_range & starts_before, mid + 1, lo)
        hi = np.where(open_range & ~starts_before, mid, hi)
    # lo is the first interval starting after the window; only lo - 1 can contain it.
    k = lo - 1
    had_pause = k >= first
    resumed_at = fleet.off_end_window[np.maximum(k, 0)]
    inside = had_pause & (win < resumed_at)
    serving[candidates[inside]] = False
    start = start.copy()
    resumed = had_pause & ~inside
    start[candidates[resumed]] = resumed_at[resumed]
    return serving, start
