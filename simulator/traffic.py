"""Request rate: popularity × the archetype's weekly cycle × ramp-up × correlated noise and spikes.

Window 0 starts on Thursday 1970-01-01 00:00 UTC, so minute-of-week 0 is a
Thursday midnight. The noise is read from two periodic tables built once at
import (deterministically): a minute-scale AR(1) series with occasional spikes,
read at an offset of the deployment's own, and a slow drift read at an offset of
its model's. A table read is a cheap gather instead of several hashes per pair,
and makes the noise correlated from one minute to the next as real traffic is.
"""

import numpy as np

from ._random import NORMAL, UNIFORM, deployment_key, hash_counter, slot

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
RAMP_WINDOWS = MINUTES_PER_DAY  # traffic reaches its full level one day after activation
_RAMP_FLOOR = 0.02  # smoke tests and early adopters: a little traffic from the first minute

# Archetypes: two interactive ones (strong daily cycle, weekend dip), an API one and a batch one
# (flatter, burstier). Daily shape exp(A·cos): peak / trough = e^(2A).
_DAILY_LOG_AMPLITUDE = np.array([1.1, 0.7, 0.35, 0.1])  # peak/trough 9×, 4×, 2×, 1.2×
_WEEKEND_FACTOR = np.array([0.5, 0.65, 0.8, 1.0])
ARCHETYPE_SHARES = np.array([0.2, 0.35, 0.3, 0.15])
ARCHETYPE_NOISE = np.array([0.8, 1.0, 1.3, 1.8])  # scales the minute noise and its spikes
_PEAK_HOUR_UTC = 15.0  # mid-afternoon
_WEEKEND_DAYS = (2, 3)  # days since Thursday: Saturday and Sunday
_WEEKEND_BLEND_MINUTES = 180  # Friday night fades into the weekend, not a cliff at midnight

NOISE_PERIOD = 1 << 14  # minutes (~11 days) before a noise table repeats; a power of two
_MINUTE_NOISE_SD, _MINUTE_NOISE_LAG1 = 0.1, 0.85  # log-sd of the minute noise and its autocorrelation
_DRIFT_SD, _DRIFT_LAG1 = 0.12, 0.985  # the model's slow drift: wanders over about an hour
_SPIKES_PER_DAY = 0.5
_STREAM_TABLES = 0x7AB1E


def _weekly_load() -> np.ndarray:
    """Load factor for each archetype and minute of the week (mean 1 on a weekday), flattened."""
    minute = np.arange(MINUTES_PER_WEEK)
    hour = (minute % MINUTES_PER_DAY) / 60.0
    wave = np.cos(2 * np.pi * (hour - _PEAK_HOUR_UTC) / 24.0)
    daily = np.exp(_DAILY_LOG_AMPLITUDE[:, None] * wave[None, :])
    daily /= daily[:, :MINUTES_PER_DAY].mean(axis=1, keepdims=True)
    weekend = np.isin(minute // MINUTES_PER_DAY, _WEEKEND_DAYS).astype(np.float64)
    # Circular moving average smooths the weekday/weekend steps.
    kernel = np.ones(_WEEKEND_BLEND_MINUTES) / _WEEKEND_BLEND_MINUTES
    padded = np.concatenate((weekend[-_WEEKEND_BLEND_MINUTES:], weekend))
    weekend = np.convolve(padded, kernel, mode="valid")[-MINUTES_PER_WEEK:]
    weekend = np.roll(weekend, -_WEEKEND_BLEND_MINUTES // 2)
    return (daily * (1.0 - (1.0 - _WEEKEND_FACTOR[:, None]) * weekend[None, :])).ravel()


def _white(stream: int, slot_index: int = 0) -> np.ndarray:
    """NOISE_PERIOD standard-normal draws from the counter hash: the same in every process."""
    bits = hash_counter(deployment_key(np.array([stream])), _STREAM_TABLES, np.arange(NOISE_PERIOD))
    return NORMAL.take(slot(bits, slot_index))


def _ar1(stream: int, sd: float, lag1: float) -> np.ndarray:
    """A periodic AR(1) series (filtered in the frequency domain, so it wraps without a seam)."""
    spectrum = np.fft.rfft(_white(stream))
    omega = 2 * np.pi * np.arange(spectrum.size) / NOISE_PERIOD
    series = np.fft.irfft(spectrum / (1.0 - lag1 * np.exp(-1j * omega)), n=NOISE_PERIOD)
    return series * (sd / series.std())


def _spikes() -> np.ndarray:
    """Log-multipliers of traffic spikes: a fast rise to 1.3–2.5×, held, then a decay; 3–20 min."""
    bits = hash_counter(deployment_key(np.array([2])), _STREAM_TABLES, np.arange(NOISE_PERIOD))
    starts = np.flatnonzero(UNIFORM.take(slot(bits, 0)) < _SPIKES_PER_DAY / MINUTES_PER_DAY)
    out = np.zeros(NOISE_PERIOD)
    for start, height_draw, length_draw in zip(
        starts, UNIFORM.take(slot(bits[starts], 1)), UNIFORM.take(slot(bits[starts], 2)), strict=True
    ):
        length = 3 + int(17 * length_draw**2)
        shape = np.minimum(1.0, np.linspace(1.6, 0.0, length, endpoint=False))
        at = (start + np.arange(length)) % NOISE_PERIOD
        out[at] += np.log(1.3 + 1.2 * height_draw) * shape
    return out


LAG_UP, LAG_DOWN = 3, 8  # windows: metrics scrape + new pod; the scale-down stabilisation window
WEEK_PAD = 128  # minutes of the week repeated before and after each row: covers every clock phase
WEEK_ROW = MINUTES_PER_WEEK + 2 * WEEK_PAD
_WEEKLY = _weekly_load().reshape(-1, MINUTES_PER_WEEK)
WEEKLY_LOAD = np.concatenate((_WEEKLY[:, -WEEK_PAD:], _WEEKLY, _WEEKLY[:, :WEEK_PAD]), axis=1).ravel()
WEEKLY_LOAD = WEEKLY_LOAD.astype(np.float32)
# float32: the tables stay in the cache while a fleet-wide pass gathers from them.
MINUTE_NOISE = (_ar1(0, _MINUTE_NOISE_SD, _MINUTE_NOISE_LAG1) + _spikes()).astype(np.float32)
# What the autoscaler saw relative to now, as a log: it scales up to the noise of LAG_UP windows
# ago and down only to the largest since LAG_DOWN windows ago (a scale-down stabilisation window,
# as Kubernetes' HPA keeps: a minute's dip does not drop a replica that the next minute wants back).
# A table, as the noise is: one gather per pair.
SEEN_NOISE = (
    np.max([np.roll(MINUTE_NOISE, lag) for lag in range(LAG_UP, LAG_DOWN + 1)], axis=0) - MINUTE_NOISE
).astype(np.float32)
DRIFT = _ar1(1, _DRIFT_SD, _DRIFT_LAG1).astype(np.float32)


def _factors(log_noise: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """exp(amplitude · log_noise) per amplitude, each row written twice over (flattened, float32).

    A row of two periods is read at (window mod period) + the deployment's offset without a
    second wrap, and the exp is taken once here instead of once per pair and window.
    """
    rows = np.exp(amplitudes[:, None] * log_noise.astype(np.float64)[None, :])
    return np.concatenate((rows, rows), axis=1).astype(np.float32).ravel()


#: The minute noise (with spikes) as a rate factor, one doubled row per archetype's amplitude.
NOW_FACTOR = _factors(MINUTE_NOISE, ARCHETYPE_NOISE)
#: What the autoscaler saw over the rate now, likewise.
SEEN_FACTOR = _factors(SEEN_NOISE, ARCHETYPE_NOISE)
#: The model's slow drift as a factor, doubled.
DRIFT_FACTOR = _factors(DRIFT, np.ones(1))
#: Slots of the draw of a model's request count per minute, doubled: every version of the model
#: reads the same one, so each serves its share of the same count (a gather, not a hash per pair).
_COUNT_BITS = hash_counter(deployment_key(np.array([3])), _STREAM_TABLES, np.arange(NOISE_PERIOD))
COUNT_SLOTS = np.tile(slot(_COUNT_BITS, 0), 2)
for _table in (
    WEEKLY_LOAD,
    MINUTE_NOISE,
    SEEN_NOISE,
    DRIFT,
    NOW_FACTOR,
    SEEN_FACTOR,
    DRIFT_FACTOR,
    COUNT_SLOTS,
):
    _table.flags.writeable = False


def noise_index(archetype: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Where a deployment reads NOW_FACTOR and SEEN_FACTOR: its archetype's row, at its offset."""
    return archetype * (2 * NOISE_PERIOD) + offset


def week_index(archetype: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Where a deployment's week starts in WEEKLY_LOAD: its archetype's row, shifted by its phase."""
    return archetype * WEEK_ROW + WEEK_PAD + phase


def minute_of_week(window: np.ndarray | int) -> np.ndarray | int:
    """window mod MINUTES_PER_WEEK, as an index into a row of WEEKLY_LOAD.

    numpy's int64 % divides per element (~30x a subtraction): windows are shifted by the
    week before the first of them, then by whole weeks counted in float64. Where rounding
    counts an exact multiple of the week one short the result is MINUTES_PER_WEEK, not 0:
    the same load, since each row repeats its week's start after its end (WEEK_PAD).
    """
    if isinstance(window, int | np.integer):
        return int(window) % MINUTES_PER_WEEK
    if window.size == 0:
        return window
    low, high = int(window.min()), int(window.max())
    base = low - low % MINUTES_PER_WEEK
    minute = window - base
    if high - base >= MINUTES_PER_WEEK:
        weeks = (minute * (1.0 / MINUTES_PER_WEEK)).astype(np.int64)
        weeks *= MINUTES_PER_WEEK
        minute -= weeks
    return minute


def load_factor(week_start: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Weekly-cycle load in each window, for deployments whose weeks start at week_start."""
    return WEEKLY_LOAD.take(week_start + minute_of_week(window))


def rate_factors(
    week_start: np.ndarray,
    noise_at: np.ndarray,
    drift_offset: np.ndarray,
    window: np.ndarray | int,
) -> tuple[np.ndarray, np.ndarray]:
    """The rate per unit of popularity now (weekly cycle × minute noise with spikes × the model's
    drift), and what the autoscaler saw over it (the weekly cycle and the drift move too slowly
    for its few minutes of lag to matter). `window` may be one int for every pair: each table
    position is then one addition."""
    minute, tick = minute_of_week(window), window & (NOISE_PERIOD - 1)
    rate = WEEKLY_LOAD.take(week_start + minute)
    at = noise_at + tick
    rate *= NOW_FACTOR.take(at)
    rate *= DRIFT_FACTOR.take(drift_offset + tick)
    return rate, SEEN_FACTOR.take(at)


def ramp(age_windows: np.ndarray) -> np.ndarray:
    """Share of full traffic reached `age_windows` after activation (0 before it)."""
    x = np.clip(age_windows * (1.0 / RAMP_WINDOWS), 0.0, 1.0)
    left = 1.0 - x
    # Cubic ease-out: fast growth at first, arriving smoothly at 1 after a day.
    share = _RAMP_FLOOR + (1.0 - _RAMP_FLOOR) * (1.0 - left * left * left)
    return np.where(age_windows >= 0, share, 0.0)
