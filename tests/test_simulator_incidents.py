"""Health is calm and meaningful, incidents look like real ones (README.md, "Metrics and health")."""

import math

import numpy as np
import pytest

from simulator import HEALTHY, TIMEOUT_MS, Fleet, assess_health, compute_metrics
from simulator.incidents import ERRORS
from simulator.traffic import load_factor
from tests.simulated_week import DAY, DAYS, SIZES, T0, W0, N, incident_kinds, week


def run_lengths(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True along each row of a 2-D boolean array."""
    padded = np.pad(flags, ((0, 0), (1, 1))).ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


def starts(flags: np.ndarray) -> np.ndarray:
    """Where runs of True begin along each row: a boolean array of flags' shape."""
    return flags & ~np.pad(flags, ((0, 0), (1, 0)))[:, :-1]


@pytest.mark.parametrize("size", [0, 1, 2])
def test_a_healthy_fleet_is_green_for_every_model_size(size: int) -> None:
    # given: serving windows with no incident in them or in the windows health looks back on
    w = week()
    calm = w.calm & (size == SIZES)[:, None]
    # when
    healthy = np.mean(w.code[calm] == HEALTHY)
    # then
    assert calm.sum() > 0.9 * (N // 3) * DAYS * DAY
    assert healthy >= 0.97


def test_health_changes_rarely_outside_incidents() -> None:
    # given
    w = week()
    both_calm = w.calm[:, 1:] & w.calm[:, :-1]
    # when
    changes = ((w.code[:, 1:] != w.code[:, :-1]) & both_calm).sum()
    # then
    assert changes / (N * DAYS) < 2


def test_a_real_incident_is_red() -> None:
    # given: error incidents at full strength on deployments with traffic to measure
    w = week()
    strong = (w.kind == ERRORS) & (w.level > 0.5) & (w.count >= 200)
    # when
    flagged = np.mean(w.code[strong] != HEALTHY)
    # then
    assert strong.sum() > 200
    assert flagged > 0.8


def test_error_counts_vary_at_least_as_much_as_poisson() -> None:
    # given: an hour of a weekday afternoon, calm throughout, for each deployment with errors to count
    w = week()
    hour = slice(DAY + 14 * 60, DAY + 15 * 60)
    errors, calm = w.errors[:, hour].astype(np.float64), w.calm[:, hour].all(axis=1)
    steady = calm & (errors.mean(axis=1) >= 1)
    # when
    dispersion = errors[steady].var(axis=1, ddof=1) / errors[steady].mean(axis=1)
    # then
    assert steady.sum() > 300
    assert np.median(dispersion) >= 0.8


def test_incidents_are_rare_and_last_a_log_normal_time() -> None:
    # given
    w = week()
    inside = w.kind != 0
    # when
    per_deployment_day = starts(inside).sum() / (N * DAYS)
    lengths = run_lengths(inside)
    # then: 0.05-0.1 a deployment-day; median ~20 min, with a long tail
    assert 0.05 <= per_deployment_day <= 0.1
    assert 15 <= np.median(lengths) <= 25
    assert np.mean(lengths > 60) > 0.03
    assert lengths.min() >= 3


def test_incidents_ramp_up_and_recover() -> None:
    # given: the incidents of the week that last at least 15 minutes, as runs of their levels
    w = week()
    inside = w.kind != 0
    begin = np.argwhere(starts(inside))
    long = [(d, c) for d, c in begin.tolist() if c + 15 <= inside.shape[1] and inside[d, c : c + 15].all()]
    # when
    first = np.array([w.level[d, c] for d, c in long])
    peak = np.array([w.level[d, c : c + 15].max() for d, c in long])
    # then: the first minute is well below the incident's peak
    assert len(long) > 100
    assert np.median(first / peak) < 0.6


def test_some_incidents_hit_a_whole_pool_at_once() -> None:
    # given
    w = week()
    began = starts(w.kind != 0)
    # when: windows in which many deployments start an incident together
    together = began.sum(axis=0)
    # then
    assert together.max() >= 20
    shared = began[:, together >= 20].sum()
    assert 0.05 < shared / began.sum() < 0.5


def test_incidents_are_likelier_at_peak_load() -> None:
    # given: where each own or shared incident begins, and each deployment's load factor there
    w = week()
    t = w.fleet.traits
    began = starts(w.kind != 0)
    load = load_factor(t.week_start[:, None], w.windows[None, :])
    # when
    rate_at_peak = began[load > 1.3].mean()
    rate_at_trough = began[load < 0.7].mean()
    # then
    assert rate_at_peak > 1.5 * rate_at_trough


def test_rollouts_bring_incidents_in_their_first_hours() -> None:
    # given: the fleet activated at T0; its first week, every window
    fleet = Fleet.build(np.arange(N) * 7_919 + 13, SIZES, np.full(N, T0))
    inside = incident_kinds(fleet, W0 + np.arange(DAYS * DAY))[0] != 0
    # when: incident minutes in the first three hours, and in an average three hours after the first day
    early = inside[:, :180].mean()
    later = inside[:, DAY:].mean()
    # then
    assert early > 3 * later


def test_latency_never_exceeds_the_timeout_and_slow_requests_fail() -> None:
    # given
    w = week()
    # when
    timed_out = (w.p99 >= TIMEOUT_MS) & (w.count >= 100)
    # then
    assert np.nanmax(w.p95) <= TIMEOUT_MS and np.nanmax(w.p99) <= TIMEOUT_MS
    assert timed_out.sum() > 10
    # only incidents and near-saturation (a burst the autoscaler has not caught up with) get that slow
    assert np.all((w.kind[timed_out] != 0) | (w.utilization[timed_out] >= 90))
    assert np.median(w.errors[timed_out] / w.count[timed_out]) > 0.01


def test_a_resume_starts_cold() -> None:
    # given: deployments paused for an hour at a weekday noon, then resumed
    pause = T0 + DAY * 60 + 12 * 3_600
    fleet = Fleet.build(
        np.arange(300) * 7_919 + 13,
        np.arange(300) % 3,
        np.full(300, T0 - 30 * 86_400.0),
        [[(pause, pause + 3_600)]] * 300,
    )
    resumed = math.ceil((pause + 3_600) / 60)
    # when
    m = compute_metrics(fleet, np.arange(300)[:, None], resumed + np.arange(30)[None, :])
    health = assess_health(fleet, np.arange(300), resumed + 2)
    # then: the first minute is slow and fails more; twenty minutes later all is normal
    assert np.median(m.p50[:, 0] / m.p50[:, 20]) > 1.5
    assert m.error_count[:, 0].sum() / m.request_count[:, 0].sum() > 0.01
    assert np.median(m.utilization[:, 0]) > np.median(m.utilization[:, 20])
    assert np.mean(health.code != HEALTHY) > 0.3
    assert m.serving[:, 0].all()
