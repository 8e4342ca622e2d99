"""Incidents: episodes of several consecutive windows, decided per ~2-hour block.

Each deployment has at most one incident per block, starting at a hashed offset
with a hashed length, so an incident neither flickers between polls nor depends
on which other windows are computed. Incidents stay inside their block.
"""

from dataclasses import dataclass

import numpy as np

from ._random import SLOT_BITS, hash_counter, slot

BLOCK_WINDOWS = 128  # a power of two: block and offset are bit operations, not divisions
MIN_LENGTH, MAX_LENGTH = 5, 40  # windows (minutes)
NONE, ERRORS, SLOWDOWN, TRAFFIC_DROP = 0, 1, 2, 3

_STREAM = 0x1C1DE


@dataclass(frozen=True)
class Incidents:
    """The pairs that are inside an incident (sparse: incidents are rare)."""

    where: np.ndarray  # int64 positions into the batch of pairs
    kind: np.ndarray  # int64 ERRORS, SLOWDOWN or TRAFFIC_DROP
    severity: np.ndarray  # float64 in (0, 1)


def incidents(key: np.ndarray, window: np.ndarray, threshold: np.ndarray) -> Incidents:
    """Incidents of the deployments with hash keys key[k] in window[k] (1-D arrays)."""
    offset = window & (BLOCK_WINDOWS - 1)
    bits = hash_counter(key, _STREAM, window - offset)
    draw = slot(bits, 0)
    # Only blocks that have an incident need its start and length.
    candidates = np.flatnonzero(draw < threshold)
    bits, offset = bits[candidates], offset[candidates]
    length = MIN_LENGTH + ((slot(bits, 1) * (MAX_LENGTH - MIN_LENGTH + 1)) >> SLOT_BITS)
    start = (slot(bits, 2) * (BLOCK_WINDOWS - length + 1)) >> SLOT_BITS
    inside = (offset >= start) & (offset < start + length)
    where = candidates[inside]
    # Half of the incidents are error spikes, a quarter each slowdowns and traffic drops.
    kind_draw = slot(bits[inside], 3)
    kind = ERRORS + (kind_draw >= 2048) + (kind_draw >= 3072)
    # Given that the draw fell below the threshold it is uniform below it: a free severity.
    severity = (draw[where] + 0.5) / threshold[where]
    return Incidents(where=where, kind=kind, severity=severity)
