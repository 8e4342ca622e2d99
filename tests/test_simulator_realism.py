"""The simulated fleet's traffic and latency look like a real one's (README.md, "Metrics and health")."""

import numpy as np
import pytest

from simulator import Fleet, compute_metrics, compute_series
from simulator.incidents import SLOWDOWN
from simulator.profile import Z95, Z99
from simulator.traffic import LAG_UP
from tests.simulated_week import DAY, MODELS, SIZES, T0, W0, N, make_fleet, week


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each row of a with the same row of b."""
    ra = np.argsort(np.argsort(a, axis=1), axis=1).astype(np.float64)
    rb = np.argsort(np.argsort(b, axis=1), axis=1).astype(np.float64)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(axis=1) / np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))


def test_tail_ratios_are_log_normal_like() -> None:
    # given
    w = week()
    calm = w.calm & (w.count > 0)
    # when
    p95_over_p50 = np.median((w.p95 / w.p50)[calm])
    p99_over_p95 = np.median((w.p99 / w.p95)[calm])
    # then
    assert 2.0 <= p95_over_p50 <= 4.0
    assert 1.5 <= p99_over_p95 <= 2.0


@pytest.mark.parametrize(("size", "typical_ms"), [(0, 50.0), (1, 120.0), (2, 300.0)])
def test_p50_follows_model_size(size: int, typical_ms: float) -> None:
    # given
    w = week()
    # when
    median = np.median(w.p50[(size == SIZES)[:, None] & w.calm & (w.count > 0)])
    # then
    assert 0.8 * typical_ms <= median <= 1.2 * typical_ms


def test_volume_is_highest_for_small_models() -> None:
    # when
    medians = [np.median(week().count[size == SIZES]) for size in range(3)]
    # then
    assert medians[0] > medians[1] > medians[2] > 0


def test_p99_noise_shrinks_with_the_square_root_of_requests() -> None:
    # given: minute-to-minute changes of P99 between calm windows, by the requests they hold
    w = week()
    change = np.abs(np.diff(np.log(w.p99), axis=1))
    both_calm = w.calm[:, 1:] & w.calm[:, :-1]
    requests = w.count[:, 1:]
    # when
    few = np.median(change[both_calm & (requests >= 40) & (requests <= 90)])
    many = np.median(change[both_calm & (requests >= 14_000) & (requests <= 30_000)])
    # then
    assert (both_calm & (requests >= 14_000)).sum() > 1_000
    assert few >= 3 * many
    assert 0.15 < few < 0.5  # the standard error of a P99 of 60 requests: ~27 % of a log-normal's


def test_latency_climbs_with_load_for_the_median_deployment() -> None:
    # given: a weekday of every minute
    w = week()
    day = slice(DAY, 2 * DAY)
    volume, p95 = w.count[:, day].astype(np.float64), w.p95[:, day]
    whole = np.isfinite(p95).all(axis=1)
    # when
    correlation = spearman(volume[whole], p95[whole])
    # then
    assert whole.mean() > 0.95
    assert np.median(correlation) >= 0.3


def test_minute_volume_is_correlated_from_one_minute_to_the_next() -> None:
    # given: each deployment's minutes of a weekday, less each hour's mean (so not just the daily cycle)
    w = week()
    volume = w.count[:, DAY : 2 * DAY].astype(np.float64).reshape(N, 24, 60)
    volume -= volume.mean(axis=2, keepdims=True)
    # when
    lag1 = (volume[:, :, 1:] * volume[:, :, :-1]).sum(axis=(1, 2)) / (volume * volume).sum(axis=(1, 2))
    # then
    assert np.median(lag1) >= 0.5


def test_traffic_archetypes_differ_in_their_daily_swing() -> None:
    # given: hourly volume of each deployment over a weekday
    hourly = week().count[:, DAY : 2 * DAY].reshape(N, 24, 60).sum(axis=2).astype(np.float64)
    archetype = week().fleet.traits.archetype
    # when
    swing = hourly.max(axis=1) / np.maximum(hourly.min(axis=1), 1)
    by_archetype = [np.median(swing[archetype == a]) for a in range(4)]
    # then: interactive ones swing 3-10x between peak and trough, API and batch ones far less
    assert [np.mean(archetype == a) > 0.1 for a in range(4)] == [True] * 4
    assert 5 <= by_archetype[0] <= 12 and 3 <= by_archetype[1] <= 6
    assert by_archetype[3] < 2 < by_archetype[2] < by_archetype[1]


def test_deployments_of_one_model_share_its_rhythm() -> None:
    # given: minute volume over a weekday, as log ratios to each deployment's own mean
    volume = np.log(week().count[:, DAY : 2 * DAY].astype(np.float64) + 1)
    volume -= volume.mean(axis=1, keepdims=True)
    volume /= volume.std(axis=1, keepdims=True)
    # when: correlation of versions of one model, and of neighbours of different models
    same = (volume[0::4] * volume[1::4]).mean(axis=1)
    other = (volume[3:-1:4] * volume[4::4]).mean(axis=1)
    # then
    assert MODELS[0] == MODELS[1] and MODELS[3] != MODELS[4]
    assert np.median(same) > np.median(other) + 0.2


def _fleet_volume_by_hour(weekdays: bool) -> np.ndarray:
    """Mean fleet-wide requests a minute by UTC hour over weekdays (or weekend days)."""
    w = week()
    total = w.count.sum(axis=0, dtype=np.int64)
    day = (w.windows - W0) // DAY  # 0 = Monday
    hour = (w.windows % DAY) // 60
    chosen = (day < 5) if weekdays else (day >= 5)
    return np.array([total[chosen & (hour == h)].mean() for h in range(24)])


def test_daily_cycle_peaks_in_the_afternoon() -> None:
    # when
    by_hour = _fleet_volume_by_hour(weekdays=True)
    # then
    assert by_hour.max() / by_hour.min() > 1.5
    assert 12 <= by_hour.argmax() <= 18
    assert by_hour.argmin() <= 6


def test_weekends_are_quieter() -> None:
    # when
    weekday, weekend = _fleet_volume_by_hour(True).mean(), _fleet_volume_by_hour(False).mean()
    # then
    assert weekend < 0.85 * weekday


def _fleet_volume(fleet: Fleet, first_window: int) -> float:
    """Fleet-wide req/s over five windows from first_window."""
    windows = first_window + np.arange(5)
    return float(compute_metrics(fleet, np.arange(N)[:, None], windows[None, :]).request_volume.sum() / 5)


def test_new_deployments_ramp_up_over_a_day() -> None:
    # given: activated at Monday 00:00; a week later is the same hour at full traffic
    fleet = make_fleet(activated_at=T0)
    week_later = 7 * DAY
    # when
    hour_one = _fleet_volume(fleet, W0 + 60) / _fleet_volume(fleet, W0 + week_later + 60)
    day_one = _fleet_volume(fleet, W0 + DAY) / _fleet_volume(fleet, W0 + week_later + DAY)
    # then
    assert hour_one < 0.3
    assert 0.85 <= day_one <= 1.15
    assert _fleet_volume(fleet, W0 - 10) == 0.0


def test_the_autoscaler_follows_load_with_a_lag() -> None:
    # given: every window of a weekday
    w = week()
    replicas = w.replicas[:, DAY : 2 * DAY].astype(np.int64)
    utilisation = w.utilization[:, DAY : 2 * DAY]
    # when: the minutes in which a deployment gains replicas
    gains = np.argwhere(np.diff(replicas, axis=1) > 0)
    gains = gains[(gains[:, 1] > LAG_UP) & (gains[:, 1] < DAY - 5)]
    before = utilisation[gains[:, 0], gains[:, 1]]
    after = utilisation[gains[:, 0], gains[:, 1] + 3]
    # then: utilisation was up before the new replicas came, and drops once they serve
    assert gains.shape[0] > 1_000
    assert np.median(before) > np.median(utilisation) * 1.1
    assert np.median(after) < np.median(before)
    # and replicas rise at peaks: the busiest hour runs more than the quietest
    hourly = replicas.reshape(N, 24, 60).mean(axis=2)
    volume = w.count[:, DAY : 2 * DAY].reshape(N, 24, 60).sum(axis=2)
    busiest, quietest = volume.argmax(axis=1), volume.argmin(axis=1)
    rows = np.arange(N)
    assert np.mean(hourly[rows, busiest] >= hourly[rows, quietest]) > 0.95


def test_the_autoscaler_does_not_flap() -> None:
    # given: every deployment's replicas, minute by minute over the week
    w = week()
    step = np.sign(np.diff(w.replicas.astype(np.int16), axis=1))
    hours = step.shape[1] / 60
    # when: its changes, and the pairs of opposite changes within 5 minutes (up and straight back down)
    changes = (step != 0).sum(axis=1) / hours
    reversals = sum(((step[:, :-k] * step[:, k:]) < 0).sum(axis=1) for k in range(1, 6)) / hours
    # then: a scale-down waits out its stabilisation window (LAG_DOWN), so reversals are rare
    assert np.median(changes) < 2.5
    assert np.median(reversals) < 1.5 and np.percentile(reversals, 90) < 5.0


def test_llm_figures_follow_the_load_model() -> None:
    # given: one busy NANO deployment over a weekday
    fleet = make_fleet()
    m = compute_metrics(fleet, 0, W0 + DAY + np.arange(DAY))
    # when
    volume_vs_tokens = np.corrcoef(m.request_count, m.tokens_per_second)[0, 1]
    ttft_share = np.median(m.ttft_p50 / m.p50)
    # then
    assert volume_vs_tokens > 0.95
    assert 0.1 < ttft_share < 0.6
    assert np.all(m.ttft_p95 <= m.p95)
    assert spearman(m.request_count[None].astype(float), m.utilization[None])[0] > 0.3


def test_output_tokens_follow_from_the_latency_at_each_sizes_decoding_pace() -> None:
    # given: the fleet in a weekday afternoon minute, its deployments with a hundred requests or more
    fleet = make_fleet()
    m = compute_metrics(fleet, np.arange(N), W0 + DAY + 14 * 60)
    served = m.request_count - m.error_count
    busy = served >= 100
    # when: each one's output tokens per request, and its time per output token (its P50 after
    # the first token, over those tokens)
    tokens = m.tokens_per_second * 60 / np.maximum(served, 1)
    per_token = (m.p50 - m.ttft_p50) / tokens
    paces = [np.median(per_token[busy & (size == SIZES)]) for size in range(3)]
    # then: each size decodes at a believable pace for its parameters, a larger model slower per token
    assert busy.sum() > 900
    assert 1.0 <= paces[0] <= 3.0 and 2.0 <= paces[1] <= 6.0 and 5.0 <= paces[2] <= 20.0
    assert paces[0] < paces[1] < paces[2]
    assert np.all((per_token[busy] > 0.5) & (per_token[busy] < 30.0))
    # and two versions of one model of one size give answers of about the same length (the traffic's,
    # not each version's own): tens of percent apart, not several times
    first = np.arange(0, N, 4)  # versions 4k and 4k + 3 of model k share a size (simulated_week)
    pairs = busy[first] & busy[first + 3]
    apart = np.abs(np.log(tokens[first] / tokens[first + 3]))[pairs]
    assert (MODELS[first] == MODELS[first + 3]).all() and (SIZES[first] == SIZES[first + 3]).all()
    assert pairs.sum() > 200
    assert np.exp(np.median(apart)) < 1.5 and np.exp(np.percentile(apart, 90)) < 2.5


def _requests(p50: np.ndarray, quantile: np.ndarray, z: float, count: np.ndarray, seed: int) -> np.ndarray:
    """Latencies of every request of some windows, drawn from each window's fitted log-normal."""
    rng = np.random.default_rng(seed)
    shape = np.log(quantile / p50) / z
    return np.concatenate(
        [np.exp(rng.normal(np.log(a), s, n)) for a, s, n in zip(p50, shape, count, strict=True)]
    )


def test_a_chart_point_has_the_percentiles_of_its_requests() -> None:
    # given: a 15-minute step of a busy deployment that holds part of a severe slowdown incident
    w = week()
    step_start = (w.windows - W0) % 15 == 0
    slow = (w.kind == SLOWDOWN) & (w.level > 0.5) & (w.count > 500)
    calm_then_slow = (w.kind[:, :-10] == 0) & (w.count[:, :-10] > 500) & slow[:, 10:] & step_start[None, :-10]
    candidates = np.argwhere(calm_then_slow)
    # the most severe of them: a mild slowdown moves a mean of minute percentiles little either
    severity = [w.level[p, c + 10 : c + 15].mean() for p, c in candidates]
    position, column = (int(i) for i in candidates[int(np.argmax(severity))])
    first = int(w.windows[column])
    # when
    point = compute_series(w.fleet, position, first + 14, 15, 1)
    windows = compute_metrics(w.fleet, position, first + np.arange(15))
    # (20 draws per request: a sample's own P99 of a few thousand requests is itself ±5 % off)
    many = windows.request_count * 20
    p99 = np.percentile(_requests(windows.p50, windows.p99, Z99, many, 7), 99)
    p95 = np.percentile(_requests(windows.p50, windows.p95, Z95, many, 8), 95)
    mean_of_p99 = np.average(windows.p99, weights=windows.request_count)
    # then: the point's figures are its requests', which a mean of minute percentiles is not
    assert point.p99[0] == pytest.approx(p99, rel=0.05)
    assert point.p95[0] == pytest.approx(p95, rel=0.05)
    assert abs(mean_of_p99 / p99 - 1) > 0.15
