"""Counter-based randomness: splitmix64 hashes of (deployment id, counter, stream).

Every random number in the simulator is a pure function of its inputs, so any
process computes the same figures for the same window. A 64-bit hash is cut
into five 12-bit slots; a slot indexes a 4096-entry table of the distribution
wanted (a quantile table), which is cheaper than computing with the draw.
All arithmetic runs on uint64 *arrays*, where numpy wraps on overflow
silently (numpy scalars would warn).
"""

from statistics import NormalDist

import numpy as np

SLOT_BITS = 12
LEVELS = 1 << SLOT_BITS  # 4096 draws per slot
SLOTS = 5  # 5 * 12 = 60 bits; the top 4 bits are `nibble`

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_COUNTER_MUL = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_SLOT_MASK = np.int64(LEVELS - 1)
_SLOT_SHIFTS = tuple(np.int64(SLOT_BITS * k) for k in range(SLOTS))
_NIBBLE_SHIFT, _NIBBLE_MASK = np.int64(SLOT_BITS * SLOTS), np.int64(15)

#: Midpoint quantiles of the uniform distribution on (0, 1), one per slot value.
UNIFORM = (np.arange(LEVELS) + 0.5) / LEVELS
#: Midpoint quantiles of the standard normal (±3.5 at the extremes).
NORMAL = np.array([NormalDist().inv_cdf(float(p)) for p in UNIFORM])
#: The same in float32, for the per-window arithmetic (half the memory traffic of float64).
NORMAL32 = NORMAL.astype(np.float32)


def _finalise(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, in place on a uint64 array; the bits returned as int64."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    # Signed, so that slots index tables directly; masking discards the sign.
    return x.view(np.int64)


def _times(values: np.ndarray, factor: np.uint64) -> np.ndarray:
    """A new uint64 array: int64 values (negative ones wrap) times an odd constant."""
    signed = np.ascontiguousarray(values, dtype=np.int64)
    return np.multiply(signed.view(np.uint64), factor)


def deployment_key(ids: np.ndarray) -> np.ndarray:
    """64 random bits (as int64) per deployment id: its traits, and the key of its windowed streams."""
    return _finalise(_times(ids, _GOLDEN))


def hash_counter(key: np.ndarray, stream: int, counter: np.ndarray | int) -> np.ndarray:
    """64 random bits (as int64) for each (key, stream, counter), e.g. counter = window index.

    `counter` may be one int for every key (one window): its product is then one number.
    """
    if isinstance(counter, int):
        x = key.view(np.uint64) + np.uint64((counter * int(_COUNTER_MUL)) & 0xFFFF_FFFF_FFFF_FFFF)
    else:
        x = _times(counter, _COUNTER_MUL)
        x += key.view(np.uint64)
    x ^= np.uint64(stream)
    return _finalise(x)


def slot(bits: np.ndarray, k: int) -> np.ndarray:
    """12-bit slot k (0..4) of each hash as int64 in 0..4095: an index into a quantile table."""
    if k == 0:
        return bits & _SLOT_MASK
    out = bits >> _SLOT_SHIFTS[k]
    out &= _SLOT_MASK
    return out


def nibble(bits: np.ndarray) -> np.ndarray:
    """The top 4 bits of each hash as int64 in 0..15."""
    return (bits >> _NIBBLE_SHIFT) & _NIBBLE_MASK
