"""Same inputs, same numbers: across calls, batch shapes and processes; health by its rules."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator import (
    CRITICAL,
    HEALTH_WINDOWS,
    HEALTHY,
    NO_TRAFFIC,
    WARNING,
    Figures,
    Fleet,
    Metrics,
    assess_health,
    combine,
    compute_metrics,
    compute_series,
    health_reasons,
    rollout_fails,
    rollout_failure_reason,
    trailing_mean_volume,
    window_levels,
)
from simulator.health import ERROR_RULE, P50_RULE, P95_RULE, RULES, TRAFFIC_RULE

T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
W0 = int(T0 // 60)
REPO = Path(__file__).resolve().parents[1]
FIELDS = (
    "window",
    "request_count",
    "request_volume",
    "error_count",
    "p50",
    "p95",
    "p99",
    "error_rate",
    "serving",
    "ttft_p50",
    "ttft_p95",
    "tokens_per_second",
    "replicas",
    "utilization",
)


def make_fleet(n: int = 50) -> Fleet:
    """A mixed fleet: old and new deployments, one never activated, some paused."""
    ids = np.arange(n) * 104_729 + 17
    activated = T0 - np.linspace(0.0, 20 * 86_400.0, n)
    activated[3] = math.nan
    pauses: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    pauses[5] = [(T0 + 1_800.0, T0 + 5_400.5)]
    pauses[6] = [(T0 - 3_600.0, T0 - 60.0), (T0 + 600.0, math.inf)]
    return Fleet.build(ids, np.arange(n) % 3, activated, pauses)


def assert_same(a: Metrics, b: Metrics) -> None:
    """Bit-identical metrics, NaN where NaN."""
    for name in FIELDS:
        left, right = getattr(a, name), getattr(b, name)
        assert left.shape == right.shape, name
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right, equal_nan=left.dtype.kind == "f"), name


def test_same_inputs_give_identical_arrays() -> None:
    # given
    fleet = make_fleet()
    index, window = np.arange(fleet.n), np.full(fleet.n, W0 + 7)
    # when
    first, second = compute_metrics(fleet, index, window), compute_metrics(make_fleet(), index, window)
    # then
    assert_same(first, second)


def test_a_pair_alone_equals_the_pair_inside_a_big_batch() -> None:
    # given: more pairs than one internal chunk holds
    fleet = make_fleet()
    windows = W0 - 200 + np.arange(400)
    block = compute_metrics(fleet, np.arange(fleet.n)[:, None], windows[None, :])
    # when / then
    assert block.p50.shape == (fleet.n, windows.size)
    for position, column in [(0, 0), (5, 230), (6, 199), (17, 399), (49, 123), (3, 300)]:
        alone = compute_metrics(fleet, position, windows[column])
        assert alone.p50.shape == ()
        assert_same(alone, Metrics(*(getattr(block, name)[position, column] for name in FIELDS)))


def test_broadcast_shapes_agree_with_flat_pairs() -> None:
    # given
    fleet = make_fleet()
    windows = W0 + np.arange(30)
    # when
    grid = compute_metrics(fleet, np.arange(fleet.n)[:, None], windows[None, :])
    flat = compute_metrics(fleet, np.repeat(np.arange(fleet.n), 30), np.tile(windows, fleet.n))
    one_deployment = compute_metrics(fleet, 7, windows)
    one_window = compute_metrics(fleet, np.arange(fleet.n), windows[4])
    # then
    assert_same(grid, Metrics(*(getattr(flat, name).reshape(fleet.n, 30) for name in FIELDS)))
    assert_same(one_deployment, Metrics(*(getattr(grid, name)[7] for name in FIELDS)))
    assert_same(one_window, Metrics(*(getattr(grid, name)[:, 4] for name in FIELDS)))


SUBPROCESS_CODE = """
import math, numpy as np
from simulator import Fleet, compute_metrics
T0 = 1_704_067_200.0
n = 50
fleet = Fleet.build(np.arange(n) * 104_729 + 17, np.arange(n) % 3, T0 - np.linspace(0.0, 20 * 86_400.0, n))
m = compute_metrics(fleet, np.arange(n)[:, None], int(T0 // 60) + np.arange(0, 1440, 97)[None, :])
for name in ("request_count", "error_count", "p50", "p95", "p99", "error_rate", "ttft_p50", "tokens_per_second",
             "replicas", "utilization"):
    print(name, *[float(x).hex() for x in getattr(m, name).ravel()])
"""


def test_another_process_computes_the_same_numbers() -> None:
    # given
    n = 50
    fleet = Fleet.build(
        np.arange(n) * 104_729 + 17, np.arange(n) % 3, T0 - np.linspace(0.0, 20 * 86_400.0, n)
    )
    here = compute_metrics(fleet, np.arange(n)[:, None], W0 + np.arange(0, 1440, 97)[None, :])
    # when
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", SUBPROCESS_CODE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # then
    there = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    for name, values in there.items():
        assert values == [float(x).hex() for x in getattr(here, name).ravel()], name


@pytest.mark.parametrize("position", [0, 5, 6, 3, 20])
def test_last_point_of_a_one_minute_series_is_that_window(position: int) -> None:
    # given
    fleet = make_fleet()
    end = W0 + 95
    # when
    series = compute_series(fleet, position, end, 1, 60)
    window = compute_metrics(fleet, position, end)
    # then
    assert series.window[-1] == end
    assert_same(Metrics(*(getattr(series, name)[-1] for name in FIELDS)), window)


def test_fully_sampled_steps_sum_their_windows() -> None:
    # given
    fleet = make_fleet()
    end = W0 + 300
    # when
    series = compute_series(fleet, 6, end, 15, 8)
    windows = compute_metrics(fleet, 6, np.arange(end - 15 * 8 + 1, end + 1)).request_count.reshape(8, 15)
    # then
    assert np.array_equal(series.request_count, windows.sum(axis=1))
    assert np.allclose(series.request_volume, windows.sum(axis=1) / (15 * 60))


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


def test_rollout_failures_are_rare_deterministic_and_explained() -> None:
    # given
    ids = np.arange(1, 20_001)
    # when
    fails = rollout_fails(ids)
    # then
    assert np.array_equal(fails, rollout_fails(ids.copy()))
    assert 0.03 < fails.mean() < 0.07
    assert rollout_fails(np.int64(ids[fails][0])).item() is True
    reasons = {rollout_failure_reason(int(i)) for i in ids[fails][:200]}
    assert 3 <= len(reasons) <= 10
    assert rollout_failure_reason(int(ids[fails][0])) == rollout_failure_reason(int(ids[fails][0]))
