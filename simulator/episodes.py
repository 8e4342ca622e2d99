"""Episodes shared by the incident sources: blocks, kinds, durations, the ramp; rollouts.

Imports only the hashes (simulator/_random.py), so that the traits (simulator/profile.py)
can draw each deployment's rollout incident once.
"""

import numpy as np

from ._random import LEVELS, NORMAL, SLOT_BITS, UNIFORM, hash_counter, slot

BLOCK_BITS = 9
BLOCK_WINDOWS = 1 << BLOCK_BITS
NONE, ERRORS, SLOWDOWN, TRAFFIC_DROP = 0, 1, 2, 3
ROLLOUT_SHARE = 0.15
# Durations: log-normal, median 20 min, log-sd 0.75 (a tenth last over 50 min), 3 min to 6 h.
DURATIONS = np.clip(np.rint(20.0 * np.exp(0.75 * NORMAL)), 3, 360).astype(np.int64)
_ROLLOUT_THRESHOLD = round(ROLLOUT_SHARE * LEVELS)
_ROLLOUT_WINDOWS = 120  # a rollout's incident starts within this many minutes
_SLOWDOWN_FROM, _DROP_FROM = round(0.45 * LEVELS), round(0.8 * LEVELS)  # slot draws: kinds' shares
_STREAM_ROLLOUT = 0x1C1E0
NO_INCIDENTS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))  # (where, kind, level)


def envelope(offset: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Ramp up over the first quarter, full strength, recover over the last third (0 outside)."""
    onset = np.maximum(2.0, 0.25 * duration)
    recovery = np.maximum(3.0, 0.35 * duration)
    env = np.minimum(np.minimum((offset + 1.0) / onset, (duration - offset) / recovery), 1.0)
    return np.where((offset >= 0) & (offset < duration), env, 0.0)


def run_pairs(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The pairs of runs that begin at `starts` (ascending) and hold `counts` pairs each, in order."""
    first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    first += np.arange(first.size)
    return first


def start_offset(draw: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """Start within the block, uniform over the starts that let the incident end inside it."""
    return (draw * (BLOCK_WINDOWS - duration + 1)) >> SLOT_BITS


def kind_of(draw: np.ndarray, drops: bool = True) -> np.ndarray:
    """45 % error spikes, 35 % slowdowns, 20 % traffic drops (or slowdowns instead of drops)."""
    kind = ERRORS + (draw >= _SLOWDOWN_FROM) + (drops & (draw >= _DROP_FROM))
    return kind.astype(np.int64)


def in_rows(positions: np.ndarray, rows: tuple[object, int], size: int) -> slice:
    """The part of ascending fleet positions that falls in the rows first .. first + size − 1."""
    low, high = np.searchsorted(positions, (rows[1], rows[1] + size))
    return slice(int(low), int(high))


def _rollout(key: np.ndarray, age: np.ndarray, candidates: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """(where, kind, level) of incidents shortly after activation (age in windows since it).

    `candidates` may list the pairs worth checking (every pair with a small age among them).
    """
    if candidates is None:
        candidates = np.arange(age.size)
    young = candidates[(age[candidates] >= 0) & (age[candidates] < _ROLLOUT_WINDOWS + 360)]
    if young.size == 0:  # past its first hours: no rollout incident to look up
        return NO_INCIDENTS
    bits = hash_counter(key[young], _STREAM_ROLLOUT, np.zeros(young.size, dtype=np.int64))
    start = (slot(bits, 1) * _ROLLOUT_WINDOWS) >> SLOT_BITS
    level = envelope(age[young] - start, DURATIONS.take(slot(bits, 2))) * UNIFORM.take(slot(bits, 4))
    keep = (slot(bits, 0) < _ROLLOUT_THRESHOLD) & (level > 0)
    return young[keep], kind_of(slot(bits[keep], 3), drops=False), level[keep]


def rollout_traits(key: np.ndarray) -> dict[str, np.ndarray]:
    """Per deployment: its rollout incident (windows after activation it starts, its duration,
    amplitude and kind), drawn once; a duration of 0 where its rollout goes well."""
    bits = hash_counter(key, _STREAM_ROLLOUT, np.zeros(key.shape, dtype=np.int64))
    goes_wrong = slot(bits, 0) < _ROLLOUT_THRESHOLD
    return {
        "rollout_start": (slot(bits, 1) * _ROLLOUT_WINDOWS) >> SLOT_BITS,
        "rollout_duration": np.where(goes_wrong, DURATIONS.take(slot(bits, 2)), 0),
        "rollout_amplitude": UNIFORM.take(slot(bits, 4)),
        "rollout_kind": kind_of(slot(bits, 3), drops=False),
    }


def rollout_incidents(traits: object, position: np.ndarray, age: np.ndarray, young: np.ndarray) -> tuple:
    """(where, kind, level) of rollout incidents of the pairs `young` (every pair activated less
    than a day before), from the deployments' rollout traits (Traits.rollout_*)."""
    pos = position.take(young)
    offset = age.take(young) - traits.rollout_start.take(pos)
    duration = traits.rollout_duration.take(pos)
    inside = ((offset >= 0) & (offset < duration)).nonzero()[0]
    if inside.size == 0:
        return NO_INCIDENTS
    pos = pos.take(inside)
    level = envelope(offset.take(inside), duration.take(inside)) * traits.rollout_amplitude.take(pos)
    keep = level > 0
    return young.take(inside)[keep], traits.rollout_kind.take(pos)[keep], level[keep]


rollout = _rollout  # per pair, for callers without the traits
