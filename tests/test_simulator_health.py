"""Health by its rules: each threshold in one window, persistence over a run, reasons, consistency."""

import numpy as np
import pytest

from simulator import (
    CRITICAL,
    HEALTH_WINDOWS,
    HEALTHY,
    NO_TRAFFIC,
    WARNING,
    Figures,
    Metrics,
    assess_health,
    combine,
    compute_metrics,
    health_reasons,
    trailing_mean_volume,
    window_levels,
)
from simulator.health import ERROR_RULE, P50_RULE, P95_RULE, RULES, TRAFFIC_RULE
from tests.test_simulator_determinism import W0, make_fleet


def _one(p50: float, p95: float, error_rate: float, errors: int, volume: float) -> Metrics:
    """One hand-built window of figures for deployment 0 of make_fleet()."""
    count = round(volume * 60)
    return Metrics(
        window=np.array([W0]),
        request_count=np.array([count]),
        request_volume=np.array([volume]),
        error_count=np.array([errors]),
        p50=np.array([p50]),
        p95=np.array([p95]),
        p99=np.array([p95 * 1.6]),
        error_rate=np.array([error_rate]),
        serving=np.array([True]),
        ttft_p50=np.array([p50 / 3]),
        ttft_p95=np.array([p95 / 3]),
        tokens_per_second=np.array([volume * 30]),
        replicas=np.array([2.0]),
        utilization=np.array([40.0]),
    )


FLEET = make_fleet()
OLD = 49  # activated 20 days before W0
USUAL_P50 = float(FLEET.traits.usual_p50[OLD])
USUAL_P95 = float(FLEET.traits.usual_p95[OLD])
TRAILING = float(trailing_mean_volume(FLEET, OLD, W0))
VOLUME = TRAILING  # req/s: what it normally gets
# p50 × usual, p95 × usual, error %, errors, volume, the rule's expected level
RULE_CASES = [
    (P50_RULE, 2.4, 1.0, 0.2, 1, VOLUME, 0),
    (P50_RULE, 2.6, 1.0, 0.2, 1, VOLUME, 1),
    (P50_RULE, 5.1, 1.0, 0.2, 1, VOLUME, 2),
    (P50_RULE, 5.1, 1.0, 0.2, 0, 19 / 60, 0),  # 19 requests: too few for a percentile (and a traffic drop)
    (P95_RULE, 1.0, 2.9, 0.2, 1, VOLUME, 0),
    (P95_RULE, 1.0, 3.1, 0.2, 1, VOLUME, 1),
    (P95_RULE, 1.0, 6.1, 0.2, 1, VOLUME, 2),
    (ERROR_RULE, 1.0, 1.0, 0.99, 6, VOLUME, 0),
    (ERROR_RULE, 1.0, 1.0, 1.0, 6, VOLUME, 1),
    (ERROR_RULE, 1.0, 1.0, 1.0, 4, VOLUME, 0),  # 4 errors: too few
    (ERROR_RULE, 1.0, 1.0, 5.0, 30, VOLUME, 2),
    (ERROR_RULE, 1.0, 1.0, 8.0, 9, VOLUME, 1),  # 9 errors: a warning, not yet critical
    (TRAFFIC_RULE, 1.0, 1.0, 0.2, 1, 0.51 * VOLUME, 0),
    (TRAFFIC_RULE, 1.0, 1.0, 0.2, 1, 0.49 * VOLUME, 1),
]


@pytest.mark.parametrize(("rule", "p50", "p95", "error_rate", "errors", "volume", "level"), RULE_CASES)
def test_each_rule_has_its_threshold_in_one_window(
    rule: int, p50: float, p95: float, error_rate: float, errors: int, volume: float, level: int
) -> None:
    # given
    m = _one(p50 * USUAL_P50, p95 * USUAL_P95, error_rate, errors, volume)
    # when
    levels = window_levels(FLEET, np.array([OLD]), m)
    # then: the rule under test has its level, and no other rule fires but a traffic drop
    assert TRAILING > 2.0
    assert levels.shape == (RULES, 1)
    assert levels[rule].tolist() == [level]
    others = [r for r in range(RULES) if r not in (rule, TRAFFIC_RULE)]
    assert levels[others].sum() == 0
    assert levels[TRAFFIC_RULE].tolist() == [int(volume < 0.5 * TRAILING)]


def _run(levels_by_window: list[list[int]]) -> np.ndarray:
    """A run of raw levels (HEALTH_WINDOWS, RULES, 1) from each window's levels of the four rules."""
    return np.array(levels_by_window, dtype=np.int8)[:, :, None]


@pytest.mark.parametrize(
    ("errors_by_window", "code"),
    [
        ([0, 0, 0, 0, 1], HEALTHY),  # one bad minute changes nothing
        ([0, 0, 1, 0, 1], HEALTHY),
        ([0, 0, 1, 1, 1], WARNING),  # the third one does
        ([1, 1, 1, 0, 0], WARNING),  # and it takes three good minutes to leave
        ([1, 1, 0, 0, 0], HEALTHY),
        ([2, 2, 1, 0, 0], WARNING),
        ([0, 0, 2, 2, 2], CRITICAL),
        ([2, 0, 2, 0, 2], CRITICAL),
    ],
)
def test_a_rule_holds_a_level_reached_in_three_of_five_windows(
    errors_by_window: list[int], code: int
) -> None:
    # given
    run = _run([[0, 0, e, 0] for e in errors_by_window])
    # when
    health = combine(run, np.array([True]), np.array([5.0]))
    # then
    assert health.code.tolist() == [code]
    assert health.levels[ERROR_RULE].tolist() == [code]
    assert combine(run, np.array([False]), np.array([5.0])).code.tolist() == [NO_TRAFFIC]


def test_reasons_say_what_holds_worst_first() -> None:
    # given
    figures = Figures(
        p50=740.0, p95=2_600.0, error_rate=3.2, volume=3.1, trailing=9.0, usual_p50=255.0, usual_p95=820.0
    )
    # when
    several = health_reasons([1, 0, 2, 1], [3, 0, 4, 5], figures, True)
    healthy = health_reasons([0, 0, 0, 0], [0, 1, 2, 0], figures, True)
    paused = health_reasons([0, 0, 0, 0], [0, 0, 0, 0], figures, False)
    # then
    assert several == [
        "Error rate 3.2% (critical from 5% with at least 10 errors a minute; 4 of the last 5 minutes, 3 needed)",
        "P50 latency 740 ms, 2.9\u00d7 its usual 255 ms (warning above 2.5\u00d7; 3 of the last 5 minutes, 3 needed)",
        "Traffic 3.1 req/s against a trailing-hour mean of 9.0 req/s (warning below half; 5 of the last 5 minutes,"
        " 3 needed)",
    ]
    assert healthy == []
    assert paused == ["Not serving traffic"]


def test_health_of_a_few_equals_health_of_the_fleet_and_needs_its_run() -> None:
    # given: every window of the run computed fleet-wide, as the API's snapshot does
    fleet = make_fleet()
    everyone = np.arange(fleet.n)
    window = W0 + 700
    runs = [
        window_levels(fleet, everyone, compute_metrics(fleet, everyone, w))
        for w in range(window - 4, window + 1)
    ]
    current = compute_metrics(fleet, everyone, window)
    fleet_wide = combine(np.stack(runs), current.serving, trailing_mean_volume(fleet, everyone, window))
    # when
    few = assess_health(fleet, np.array([6, 0, 17]), window)
    # then
    assert len(runs) == HEALTH_WINDOWS
    assert few.code.tolist() == fleet_wide.code[[6, 0, 17]].tolist()
    assert np.array_equal(few.levels, fleet_wide.levels[:, [6, 0, 17]])
    assert np.array_equal(few.trailing, fleet_wide.trailing[[6, 0, 17]])
