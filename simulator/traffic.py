"""Expected request volume: popularity times the weekly load cycle times the ramp-up after activation.

Noise-free and incident-free; metrics.py adds both. Window 0 starts on
Thursday 1970-01-01 00:00 UTC, so minute-of-week 0 is a Thursday midnight.
"""

import numpy as np

from .profile import Profile

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
RAMP_WINDOWS = MINUTES_PER_DAY  # traffic reaches its full level one day after activation
_RAMP_FLOOR = 0.02  # smoke tests and early adopters: a little traffic from the first minute

_PEAK_HOUR_UTC = 15.0  # mid-afternoon
_DAILY_AMPLITUDE = 0.42  # one harmonic: peak / trough = 1.42 / 0.58 ≈ 2.4
_WEEKEND_FACTOR = 0.7
_WEEKEND_DAYS = (2, 3)  # days since Thursday: Saturday and Sunday
_WEEKEND_BLEND_MINUTES = 180  # Friday night fades into the weekend, not a cliff at midnight


def _weekly_load() -> np.ndarray:
    """Load factor for each minute of the week (mean 1 on a weekday)."""
    minute = np.arange(MINUTES_PER_WEEK)
    hour = (minute % MINUTES_PER_DAY) / 60.0
    daily = 1.0 + _DAILY_AMPLITUDE * np.cos(2 * np.pi * (hour - _PEAK_HOUR_UTC) / 24.0)
    weekend = np.isin(minute // MINUTES_PER_DAY, _WEEKEND_DAYS).astype(np.float64)
    # Circular moving average smooths the weekday/weekend steps.
    kernel = np.ones(_WEEKEND_BLEND_MINUTES) / _WEEKEND_BLEND_MINUTES
    padded = np.concatenate((weekend[-_WEEKEND_BLEND_MINUTES:], weekend))
    weekend = np.convolve(padded, kernel, mode="valid")[-MINUTES_PER_WEEK:]
    weekend = np.roll(weekend, -_WEEKEND_BLEND_MINUTES // 2)
    return daily * (1.0 - (1.0 - _WEEKEND_FACTOR) * weekend)


WEEKLY_LOAD = _weekly_load()
WEEKLY_LOAD.flags.writeable = False


def load_factor(phase: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Weekly-cycle load for each deployment's clock phase at each window."""
    return WEEKLY_LOAD[(window + phase) % MINUTES_PER_WEEK]


def ramp(age_windows: np.ndarray) -> np.ndarray:
    """Share of full traffic reached `age_windows` after activation (0 before it)."""
    x = np.clip(age_windows * (1.0 / RAMP_WINDOWS), 0.0, 1.0)
    left = 1.0 - x
    # Cubic ease-out: fast growth at first, arriving smoothly at 1 after a day.
    share = _RAMP_FLOOR + (1.0 - _RAMP_FLOOR) * (1.0 - left * left * left)
    return np.where(age_windows >= 0, share, 0.0)


def expected_volume(prof: Profile, window: np.ndarray, act_window: np.ndarray) -> np.ndarray:
    """Noise-free, incident-free req/s of each deployment in each window."""
    return prof.volume * load_factor(prof.phase, window) * ramp(window - act_window)
