"""The simulated fleet looks like a real one (DESIGN.md, "Realism")."""

from functools import cache

import numpy as np
import pytest

from simulator import HEALTHY, Fleet, Metrics, compute_metrics, health_codes, trailing_mean_volume
from simulator.incidents import BLOCK_WINDOWS, ERRORS, TRAFFIC_DROP, incidents
from simulator.profile import profile

T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
W0 = int(T0 // 60)
DAY = 1440  # windows
N = 1200
SIZES = np.arange(N) % 3
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def make_fleet(activated_at: float = T0 - 30 * 86_400.0) -> Fleet:
    """N deployments of mixed sizes with scattered ids, all activated at one instant."""
    return Fleet.build(np.arange(N) * 7_919 + 13, SIZES, np.full(N, activated_at))


@cache
def week() -> tuple[Fleet, np.ndarray, Metrics, np.ndarray]:
    """Fleet, windows and metrics of a week, every 10th window; plus each pair's incident kind."""
    fleet = make_fleet()
    windows = W0 + np.arange(0, 7 * DAY, 10)
    metrics = compute_metrics(fleet, np.arange(N)[:, None], windows[None, :])
    return fleet, windows, metrics, incident_kinds(fleet, windows)


def incident_kinds(fleet: Fleet, windows: np.ndarray) -> np.ndarray:
    """Incident kind (0 for none) of every deployment of the fleet in every window."""
    position, window = (a.ravel() for a in np.broadcast_arrays(np.arange(fleet.n)[:, None], windows[None, :]))
    prof = profile(fleet.ids, fleet.size)
    found = incidents(prof.key[position], window, prof.incident_threshold[position])
    kind = np.zeros(position.size, dtype=np.int64)
    kind[found.where] = found.kind
    return kind.reshape(fleet.n, windows.size)


def run_lengths(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True along each row of a 2-D boolean array."""
    padded = np.pad(flags, ((0, 0), (1, 1))).ravel().astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


def test_tail_ratios_are_log_normal_like() -> None:
    # given
    _, _, m, _ = week()
    traffic = m.request_count > 0
    # when
    p95_over_p50 = np.median((m.p95 / m.p50)[traffic])
    p99_over_p95 = np.median((m.p99 / m.p95)[traffic])
    # then
    assert 2.0 <= p95_over_p50 <= 4.0
    assert 1.5 <= p99_over_p95 <= 2.0


@pytest.mark.parametrize(("size", "typical_ms"), [(0, 50.0), (1, 120.0), (2, 300.0)])
def test_p50_follows_model_size(size: int, typical_ms: float) -> None:
    # given
    _, _, m, _ = week()
    # when
    median = np.median(m.p50[(size == SIZES)[:, None] & (m.request_count > 0)])
    # then
    assert 0.7 * typical_ms <= median <= 1.3 * typical_ms


def test_volume_is_highest_for_small_models() -> None:
    # given
    _, _, m, _ = week()
    # when
    medians = [np.median(m.request_volume[size == SIZES]) for size in range(3)]
    # then
    assert medians[0] > medians[1] > medians[2] > 0


def test_healthy_error_rate_is_well_under_half_a_percent() -> None:
    # given
    _, _, m, kind = week()
    calm = (kind == 0) & (m.request_count > 0)
    # when
    overall = 100 * m.error_count[calm].sum() / m.request_count[calm].sum()
    # then
    assert overall < 0.3
    assert np.median(m.error_rate[calm]) < 0.5


def test_error_incidents_reach_two_to_five_percent_with_latency_up() -> None:
    # given
    _, _, m, kind = week()
    spikes = (kind == ERRORS) & (m.request_count >= 500)
    calm = (kind == 0) & (m.request_count >= 500)
    # when
    rate = np.median(m.error_rate[spikes])
    # then
    assert spikes.sum() > 50
    assert 2.0 <= rate <= 5.0
    assert np.median(m.p50[spikes & (SIZES == 0)[:, None]]) > 1.15 * np.median(
        m.p50[calm & (SIZES == 0)[:, None]]
    )


def test_incident_windows_are_a_small_minority() -> None:
    # given
    _, _, _, kind = week()
    # when
    share = np.mean(kind != 0)
    # then
    assert 0.005 < share < 0.10


def test_traffic_drops_show_against_the_trailing_hour() -> None:
    # given
    fleet, windows, m, kind = week()
    trailing = trailing_mean_volume(fleet, np.arange(N)[:, None], windows[None, :])
    drops = kind == TRAFFIC_DROP
    # when
    flagged = np.mean(m.request_volume[drops] < 0.5 * trailing[drops])
    false_alarms = np.mean(m.request_volume[kind == 0] < 0.5 * trailing[kind == 0])
    # then
    assert flagged > 0.9
    assert false_alarms < 0.02


def test_small_models_are_mostly_healthy_outside_incidents() -> None:
    # given
    fleet, windows, m, kind = week()
    codes = health_codes(m, trailing_mean_volume(fleet, np.arange(N)[:, None], windows[None, :]))
    nano_calm = (SIZES == 0)[:, None] & (kind == 0)
    # when
    healthy = np.mean(codes[nano_calm] == HEALTHY)
    # then
    assert healthy > 0.95


def _fleet_volume_by_hour(weekdays: bool) -> np.ndarray:
    """Mean fleet-wide req/s by UTC hour over weekdays (or weekend days)."""
    _, windows, m, _ = week()
    total = m.request_volume.sum(axis=0)
    day = (windows - W0) // DAY  # 0 = Monday
    hour = (windows % DAY) // 60
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
    assert day_one >= 0.9
    assert _fleet_volume(fleet, W0 - 10) == 0.0


def test_incidents_last_several_consecutive_windows() -> None:
    # given: about a day, every window, cut at block edges since incidents never cross them
    fleet = make_fleet()
    first = -(-W0 // BLOCK_WINDOWS) * BLOCK_WINDOWS
    windows = first + np.arange(11 * BLOCK_WINDOWS)
    kind = incident_kinds(fleet, windows)
    m = compute_metrics(fleet, np.arange(N)[:, None], windows[None, :])
    busy = (m.request_count >= 1000).all(axis=1)
    # when
    incident_runs = run_lengths(kind != 0)
    spike_runs = run_lengths(m.error_rate[busy] > 1.5)
    # then
    assert incident_runs.size > 100
    assert incident_runs.min() >= 5 and incident_runs.max() <= 40
    assert np.median(incident_runs) >= 10
    assert spike_runs.size > 10
    assert np.median(spike_runs) >= 5
