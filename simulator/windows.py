"""Aggregation windows: window w covers [w * 60, (w + 1) * 60) epoch seconds (UTC)."""

import numpy as np

from domain import WINDOW_SECONDS

__all__ = ["NEVER", "WINDOW_SECONDS", "first_window_starting_at_or_after", "window_of"]
# Stand-in for "never": beyond any window of a clipped instant (|t| <= 1e15 s),
# yet far from int64 overflow when window differences are taken.
NEVER = np.int64(2**50)


def window_of(t: float | np.ndarray) -> np.ndarray:
    """Index of the window that holds instant t (epoch seconds)."""
    return np.floor_divide(np.asarray(t, dtype=np.float64), WINDOW_SECONDS).astype(np.int64)


def first_window_starting_at_or_after(t: np.ndarray) -> np.ndarray:
    """Smallest w with w * 60 >= t; NaN and +inf map to NEVER, -inf to -NEVER."""
    t = np.asarray(t, dtype=np.float64)
    finite = np.isfinite(t)
    safe = np.where(finite, np.clip(t, -1e15, 1e15), 0.0)
    w = np.ceil(safe / WINDOW_SECONDS)
    # Division rounds: nudge w so that the comparison on window starts is exact.
    w = np.where(w * WINDOW_SECONDS < safe, w + 1, w)
    w = np.where((w - 1) * WINDOW_SECONDS >= safe, w - 1, w)
    w = w.astype(np.int64)
    never = np.where(t < 0, -NEVER, NEVER)
    return np.where(finite, w, never)
