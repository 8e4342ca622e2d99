"""Per-deployment traits: fixed for a deployment's life, drawn from hashes of its id and its model.

Computed once per Fleet (not per pair): a fleet-wide pass then only gathers them
by position. Traits of the serving set-up (capacity per replica, autoscaler
target) and of the request mix (tail shape, output length) belong to the
deployment; the traffic (popularity, archetype, time zone, minute noise, slow drift,
the count's draw) to its model, so versions of one model rise and fall together and
each serves its share of the same requests.
"""

from dataclasses import dataclass

import numpy as np

from ._random import LEVELS, NORMAL, SLOT_BITS, UNIFORM, deployment_key, hash_counter, nibble, slot
from .episodes import rollout_traits
from .traffic import ARCHETYPE_NOISE, ARCHETYPE_SHARES, NOISE_PERIOD, noise_index, week_index

# Usual figures by model size (NANO, SMALL, LARGE) from the research the product is based on.
P50_MS_BY_SIZE = np.array([50.0, 120.0, 300.0])  # median P50 at normal load
VOLUME_BY_SIZE = np.array([40.0, 15.0, 4.0])  # req/s of a median deployment, weekday daily mean
CAPACITY_BY_SIZE = np.array([60.0, 20.0, 5.0])  # req/s one replica serves at utilisation 1
#: Time per output token at normal load, by size (ms): decoding a model of that size on one GPU
#: (a <1B model ~650 tokens/s per stream, 1-7B ~330, 7B+ ~125). A request's time after its first
#: token is its output tokens at this pace, so the output length follows from the latency.
TPOT_MS_BY_SIZE = np.array([1.5, 3.0, 8.0])
COLD_START_WINDOWS_BY_SIZE = np.array([2, 4, 7])  # minutes until loaded replicas serve normally

# Latency quantiles of a log-normal with shape s: P95 = P50·e^(1.645 s), P99 = P50·e^(2.326 s).
Z95 = 1.6448536269514722
Z99 = 2.3263478740408408

#: Queueing: P50 ∝ 1 + QUEUE_P50·q with q = ρ/(1−ρ); the tail's log-sd grows by QUEUE_SHAPE·√q,
#: faster than the median at moderate load (waits vary more than service times).
QUEUE_P50, QUEUE_SHAPE = 0.25, 0.12
_TYPICAL_UTILISATION = 0.42  # what the autoscaler's rounding up leaves on average
_TYPICAL_QUEUE = _TYPICAL_UTILISATION / (1.0 - _TYPICAL_UTILISATION)

_P50_SPREAD = 0.22  # log-sd of P50 between deployments of one size
_POPULARITY_SPREAD = 0.7  # log-sd of traffic between deployments of one size
_TAIL_SHAPE = 0.6 + 0.2 * UNIFORM  # P95/P50 of 2.7..3.7 at normal load
_P99_BONUS = 0.1 * UNIFORM  # log: real tails reach a little further than log-normal ones
_ERROR_RATE = 0.0005 + 0.0025 * UNIFORM  # healthy error fraction, 0.05 % .. 0.3 %
# Proneness to incidents, mean 1: most deployments steady, a few flaky.
_PRONENESS = 0.25 + 2.25 * UNIFORM**2
_PHASE_STEP_MINUTES = 16  # customers' local days shift the daily cycle by up to ±2 h
POOLS_PER_SIZE = 6  # GPU pools (node groups) a deployment's replicas run in

_P50_TABLE = np.outer(P50_MS_BY_SIZE, np.exp(_P50_SPREAD * NORMAL)).ravel()  # index size·4096 + draw
_VOLUME_TABLE = np.outer(VOLUME_BY_SIZE, np.exp(_POPULARITY_SPREAD * NORMAL)).ravel()
_CAPACITY_SPREAD = np.exp(0.3 * (UNIFORM - 0.5))
_TARGET_UTILISATION = 0.5 + 0.15 * UNIFORM  # the autoscaler's target, per deployment
_TPOT_SPREAD = np.exp(0.1 * NORMAL)  # between deployments of one size (builds, batch sizes)
_PREFILL_SHARE = 0.15 + 0.2 * UNIFORM  # time to first token over request time at light load
_ARCHETYPE_EDGES = np.cumsum(ARCHETYPE_SHARES)[:-1] * LEVELS
_STREAM_TRAITS, _STREAM_MODEL = 0x7A175, 0x30DE1


@dataclass(frozen=True)
class Traits:
    """Traits of every deployment of a fleet (parallel 1-D arrays)."""

    key: np.ndarray  # int64 hash of the id: keys the deployment's windowed random streams
    usual_p50: np.ndarray  # ms: the P50 this deployment shows at normal load (health's baseline)
    usual_p95: np.ndarray  # ms: likewise its P95
    base_p50: np.ndarray  # ms: P50 of an idle replica
    shape: np.ndarray  # log-sd of request latency at light load
    p99_bonus: np.ndarray  # added to the log of P99: tails heavier than log-normal
    volume: np.ndarray  # the model's typical req/s at full ramp, averaged over a weekday
    archetype: np.ndarray  # int64 row of traffic.WEEKLY_LOAD: interactive, API, batch …
    week_start: np.ndarray  # int64 index of its week in WEEKLY_LOAD, shifted by its clock phase
    noise_amp: np.ndarray  # scale of the minute-to-minute noise (bursty archetypes more)
    noise_at: np.ndarray  # int64 where its model reads traffic.NOW_FACTOR and SEEN_FACTOR
    count_at: np.ndarray  # int64 where its model reads traffic.COUNT_SLOTS
    drift_offset: np.ndarray  # int64 where its model reads the slow-drift table
    capacity: np.ndarray  # req/s per replica at utilisation 1
    target: np.ndarray  # utilisation the autoscaler aims at
    min_replicas: np.ndarray  # float64 1 or 2
    error_rate: np.ndarray  # healthy error fraction
    proneness: np.ndarray  # multiplies the incident rate
    pool: np.ndarray  # int64 GPU pool: shared incidents hit a whole pool
    tokens: np.ndarray  # mean output tokens per request
    prefill: np.ndarray  # share of a request's time spent before its first token, at light load
    cold_windows: np.ndarray  # int64 minutes of cold start after activation or resume
    # The rollout's incident (simulator/incidents.py), drawn once per deployment:
    rollout_start: np.ndarray  # int64 windows after activation it starts
    rollout_duration: np.ndarray  # int64 windows it lasts; 0: the rollout goes well
    rollout_amplitude: np.ndarray  # its severity
    rollout_kind: np.ndarray  # int64 ERRORS or SLOWDOWN


def _float32(**fields: np.ndarray) -> Traits:
    """Traits with float fields in float32: per-window arithmetic runs in float32 (half the memory
    traffic; figures need 7 digits at most), integers stay int64."""
    return Traits(**{k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in fields.items()})


def traits(ids: np.ndarray, size: np.ndarray, model: np.ndarray) -> Traits:
    """Traits of deployments with these ids, sizes and model keys (1-D arrays)."""

    key = deployment_key(ids)
    zero = np.zeros(key.shape, dtype=np.int64)
    more = hash_counter(key, _STREAM_TRAITS, zero)
    model_key = deployment_key(model)
    model_bits = hash_counter(model_key, _STREAM_MODEL, zero)
    offsets = hash_counter(model_key, _STREAM_MODEL + 1, zero)
    size64 = size.astype(np.int64)
    row = size64 << SLOT_BITS
    tail = slot(key, 2)
    usual = _P50_TABLE.take(row + slot(key, 0))
    base = usual / (1.0 + QUEUE_P50 * _TYPICAL_QUEUE)
    prefill = _PREFILL_SHARE.take(slot(more, 4))
    archetype = np.searchsorted(_ARCHETYPE_EDGES, slot(model_bits, 0), side="right")
    period_mask = NOISE_PERIOD - 1
    return _float32(
        key=key,
        usual_p50=usual,
        usual_p95=usual * np.exp(Z95 * (_TAIL_SHAPE.take(tail) + QUEUE_SHAPE * np.sqrt(_TYPICAL_QUEUE))),
        base_p50=base,
        shape=_TAIL_SHAPE.take(tail),
        p99_bonus=_P99_BONUS.take(tail),  # wider tails also reach further
        volume=_VOLUME_TABLE.take(row + slot(offsets, 4)),
        archetype=archetype,
        week_start=week_index(archetype, nibble(model_bits) * _PHASE_STEP_MINUTES - 8 * _PHASE_STEP_MINUTES),
        noise_amp=ARCHETYPE_NOISE[archetype],
        noise_at=noise_index(archetype, offsets & period_mask),
        count_at=(offsets >> 20) & period_mask,
        drift_offset=(model_bits >> 20) & period_mask,  # bits no slot uses
        capacity=CAPACITY_BY_SIZE[size64] * _CAPACITY_SPREAD.take(slot(more, 0)),
        target=_TARGET_UTILISATION.take(slot(more, 1)),
        min_replicas=1.0 + (slot(more, 2) < LEVELS * 0.4),
        error_rate=_ERROR_RATE.take(slot(key, 3)),
        proneness=_PRONENESS.take(slot(key, 4)),
        pool=size64 * POOLS_PER_SIZE + ((nibble(more) * POOLS_PER_SIZE) >> 4),
        # The time after the first token (base P50 less its prefill share) at the deployment's pace:
        # a P50 of 300 ms with 25 % before the first token is ~28 tokens at 8 ms each.
        tokens=base * (1.0 - prefill) / (TPOT_MS_BY_SIZE[size64] * _TPOT_SPREAD.take(slot(more, 3))),
        prefill=prefill,
        cold_windows=COLD_START_WINDOWS_BY_SIZE[size64],
        **rollout_traits(key),
    )
