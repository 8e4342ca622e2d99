"""The fleet: what the simulator knows about each deployment, as parallel arrays.

A deployment serves in window w iff its first activation is at or before the
window start w * 60 and the window overlaps none of its not-serving intervals
[off_start, off_end) at its start or later: every window is wholly serving or not.
A pause takes effect in the window it happens in (a paused deployment never shows
traffic for the rest of that minute), while activation and resume take effect at
the next window start (a full window of traffic, not a partial one).

`model` keys the deployment's model (a stable hash of its name): a model's request rate
(popularity, rhythm, noise) is the model's, ramping up from the model's first activation
(`model_activated_at`), and each version serves its share of it. Shares are steps: from
`share_at` (taking effect at the next window start, as a resume does) the version's share is
`share_value` (a fraction); before its first step, 1. A serving version at a share of 0 is a
standby: no requests, but its minimum replicas stay loaded (warm: taking a share back is no
cold start). Traits (simulator/profile.py) are derived once here.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from domain import MODEL_SIZES  # integer size codes: an index into it

from .gather import Broadcast
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
    # CSR steps of each deployment's share of its model's traffic (fractions 0..1, sorted by time).
    share_ptr: np.ndarray | None = None  # int64, length n + 1; None: no steps (every share 1)
    share_at: np.ndarray | None = None  # float64 epoch s of each step
    share_value: np.ndarray | None = None  # float32 the share from then on
    model_activated_at: np.ndarray | None = None  # float64 the model's first activation; None: own
    # Derived in __post_init__: the same facts as window indices, for the serving test.
    act_window: np.ndarray = field(init=False, repr=False, compare=False)
    off_start_window: np.ndarray = field(init=False, repr=False, compare=False)
    off_end_window: np.ndarray = field(init=False, repr=False, compare=False)
    bisect_steps: int = field(init=False, repr=False, compare=False)
    paused_ever: np.ndarray = field(init=False, repr=False, compare=False)  # bool: has intervals
    model_act_window: np.ndarray = field(init=False, repr=False, compare=False)  # the model's ramp
    share_window: np.ndarray = field(init=False, repr=False, compare=False)  # a step's first window
    partial: np.ndarray = field(init=False, repr=False, compare=False)  # bool: a share below 1
    any_partial: bool = field(init=False, repr=False, compare=False)
    share_steps: int = field(init=False, repr=False, compare=False)
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
            "share_ptr": np.zeros(len(self.ids) + 1) if self.share_ptr is None else self.share_ptr,
            "share_at": np.zeros(0) if self.share_at is None else self.share_at,
            "share_value": np.zeros(0) if self.share_value is None else self.share_value,
        }
        arrays["share_ptr"] = np.ascontiguousarray(arrays["share_ptr"], dtype=np.int64)
        arrays["share_at"] = np.ascontiguousarray(arrays["share_at"], dtype=np.float64)
        arrays["share_value"] = np.ascontiguousarray(arrays["share_value"], dtype=np.float32)
        own = self.model_activated_at is None
        arrays["model_activated_at"] = np.ascontiguousarray(
            self.activated_at if own else self.model_activated_at, dtype=np.float64
        )
        for name, value in arrays.items():
            object.__setattr__(self, name, value)
        _validate(self)
        object.__setattr__(self, "act_window", first_window_starting_at_or_after(self.activated_at))
        # The window a pause starts in is already off (floor); activation and resume count from
        # the first window starting at or after them (ceil).
        object.__setattr__(self, "off_start_window", window_of(self.off_start))
        object.__setattr__(self, "off_end_window", first_window_starting_at_or_after(self.off_end))
        object.__setattr__(self, "paused_ever", self.off_ptr[1:] > self.off_ptr[:-1])
        # The same array when the model's start is each deployment's own: the ramp then needs no
        # second gather (simulator/metrics.py tests for it).
        model_act = self.act_window if own else first_window_starting_at_or_after(self.model_activated_at)
        object.__setattr__(self, "model_act_window", model_act)
        object.__setattr__(self, "share_window", first_window_starting_at_or_after(self.share_at))
        # Only a share below 1 (0 included: a standby) changes a serving window's traffic; 1 is the
        # default. Other deployments skip the lookup.
        below = np.concatenate(([0], np.cumsum(self.share_value < 1)))
        object.__setattr__(self, "partial", below[self.share_ptr[1:]] > below[self.share_ptr[:-1]])
        object.__setattr__(self, "any_partial", bool(self.partial.any()))
        steps = int(np.diff(self.share_ptr).max(initial=0))
        object.__setattr__(self, "share_steps", steps.bit_length())
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
        shares: Sequence[Sequence[tuple[float, float]]] | None = None,
        model_activated_at: Sequence[float] | np.ndarray | None = None,
    ) -> "Fleet":
        """Fleet from per-deployment lists of (start, end) pauses, sorted and merged here, and of
        (at, fraction) steps of the share of its model's traffic, sorted here."""
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
            **_share_steps(n, shares),
            model_activated_at=None if model_activated_at is None else np.asarray(model_activated_at),
        )


def _share_steps(n: int, shares: Sequence[Sequence[tuple[float, float]]] | None) -> dict[str, np.ndarray]:
    if shares is None:
        return {}
    if len(shares) != n:
        raise ValueError(f"shares has {len(shares)} entries for {n} deployments")
    steps = [sorted((float(at), float(value)) for at, value in one) for one in shares]
    flat = np.array([step for one in steps for step in one], dtype=np.float64).reshape(-1, 2)
    counts = np.fromiter((len(one) for one in steps), dtype=np.int64, count=n)
    return {
        "share_ptr": np.concatenate(([0], np.cumsum(counts))),
        "share_at": flat[:, 0],
        "share_value": flat[:, 1],
    }


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
    ptr, at, value = fleet.share_ptr, fleet.share_at, fleet.share_value
    if ptr.shape != (n + 1,) or ptr[0] != 0 or ptr[-1] != len(at) or np.any(np.diff(ptr) < 0):
        raise ValueError("share_ptr must be n + 1 non-decreasing pointers from 0 to len(share_at)")
    if value.shape != at.shape or np.isnan(at).any() or not np.all((value >= 0) & (value <= 1)):
        raise ValueError("each share step needs a time and a fraction from 0 to 1")
    same_owner = np.ones(len(at), dtype=bool)
    same_owner[ptr[:-1][np.diff(ptr) > 0]] = False
    if np.any(at[1:][same_owner[1:]] < at[:-1][same_owner[1:]]):
        raise ValueError("a deployment's share steps must be sorted by time")
    if fleet.model_activated_at.shape != (n,):
        raise ValueError("model_activated_at must have one entry per deployment")


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
    if isinstance(gather, Broadcast) and not fleet.paused_ever[gather.first]:
        return serving, start  # one deployment that never paused (as share_of does for shares)
    paused_ever = fleet.paused_ever.take(position) if gather is None else gather(fleet.paused_ever)
    candidates = (serving & paused_ever).nonzero()[0]
    if candidates.size == 0:
        return serving, start
    win = window if isinstance(window, int) else window[candidates]
    # Only the last interval starting at or before the window can contain it.
    k, had_pause = _last_at_or_before(
        fleet.off_ptr, fleet.off_start_window, fleet.bisect_steps, position[candidates], win
    )
    resumed_at = fleet.off_end_window[np.maximum(k, 0)]
    inside = had_pause & (win < resumed_at)
    serving[candidates[inside]] = False
    start = start.copy()
    resumed = had_pause & ~inside
    start[candidates[resumed]] = resumed_at[resumed]
    return serving, start


def share_of(
    fleet: Fleet,
    position: np.ndarray,
    window: np.ndarray | int,
    gather: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray | None:
    """Each pair's share of its model's traffic in its window (float32), or None where every pair's
    share is 1 (then nothing needs multiplying). Arguments as serving_and_start's."""
    if not fleet.any_partial or (isinstance(gather, Broadcast) and not fleet.partial[gather.first]):
        return None
    partial = fleet.partial.take(position) if gather is None else gather(fleet.partial)
    candidates = np.flatnonzero(partial)
    if candidates.size == 0:
        return None
    win = window if isinstance(window, int) else window[candidates]
    # The share in force is the last step's at or before the window, else 1.
    k, stepped = _last_at_or_before(
        fleet.share_ptr, fleet.share_window, fleet.share_steps, position[candidates], win
    )
    share = np.ones(position.size, dtype=np.float32)
    share[candidates] = np.where(stepped, fleet.share_value[np.maximum(k, 0)], 1.0)
    return share


def _last_at_or_before(
    ptr: np.ndarray, starts: np.ndarray, steps: int, pos: np.ndarray, win: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray]:
    """For each deployment pos[k], the index of its last entry (CSR `ptr` into `starts`, sorted per
    deployment) starting at or before win[k], and whether it has one: a vectorised bisection of
    `steps` steps (the bit length of the most entries any deployment has)."""
    first = ptr[pos]
    lo, hi = first.copy(), ptr[pos + 1]
    last = len(starts) - 1
    for _ in range(steps):
        mid = (lo + hi) >> 1
        before = starts[np.minimum(mid, last)] <= win
        open_range = lo < hi
        lo = np.where(open_range & before, mid + 1, lo)
        hi = np.where(open_range & ~before, mid, hi)
    return lo - 1, lo > first
