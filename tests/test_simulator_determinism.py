"""Same inputs, same numbers: across calls, batch shapes and processes; health by its rules."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator import (
    Fleet,
    Metrics,
    compute_metrics,
    compute_series,
    rollout_fails,
    rollout_failure_reason,
)

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


@pytest.mark.parametrize("step, points", [(1, 60), (15, 96), (60, 48), (360, 20)])
def test_series_of_many_deployments_are_each_ones_own_series(step: int, points: int) -> None:
    # given: every kind of deployment (old, new, never activated, paused, paused for good), twice
    fleet = make_fleet()
    positions = np.array([0, 5, 6, 3, 20, 49, 6, 0])
    end = W0 + 2_000
    # when
    many = compute_series(fleet, positions, end, step, points)
    # then: row k is position k's series; the mixture's percentiles to the solver's settling (its
    # rounds run until every row's have settled, so a row may take a round more than alone)
    for k, position in enumerate(positions.tolist()):
        alone = compute_series(fleet, position, end, step, points)
        for name in FIELDS:
            row, own = getattr(many, name)[k], getattr(alone, name)
            assert row.shape == own.shape == (points,) and row.dtype == own.dtype, name
            if name in ("p50", "p95", "p99", "ttft_p50", "ttft_p95"):
                assert np.array_equal(np.isnan(row), np.isnan(own)), name
                assert np.allclose(row, own, rtol=1e-8, equal_nan=True), name
            else:
                assert np.array_equal(row, own, equal_nan=row.dtype.kind == "f"), name
    assert (many.request_count[0] > 0).any() and not many.serving[3].any()


def test_series_positions_are_one_or_a_list() -> None:
    with pytest.raises(ValueError, match="1-D array"):
        compute_series(make_fleet(), np.array([[0, 1]]), W0, 15, 4)


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
