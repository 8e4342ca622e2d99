"""Properties every simulated figure must have, for any fleet and any windows."""

import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulator import (
    NO_TRAFFIC,
    TIMEOUT_MS,
    WINDOW_SECONDS,
    Fleet,
    assess_health,
    compute_metrics,
    compute_series,
    trailing_mean_volume,
)

T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
W0 = int(T0 // WINDOW_SECONDS)
DAY = 86_400.0

instants = st.floats(T0 - 40 * DAY, T0 + 2 * DAY)
pause = st.tuples(instants, st.one_of(st.floats(1.0, 3 * DAY), st.just(math.inf))).map(
    lambda start_length: (start_length[0], start_length[0] + start_length[1])
)
deployment = st.tuples(
    st.integers(0, 2**63 - 1),
    st.integers(0, 2),
    st.one_of(instants, st.just(math.nan)),
    st.lists(pause, max_size=4),
    st.lists(st.tuples(instants, st.floats(0.0, 1.0)), max_size=3),  # steps of its traffic share
)


def _fleet(rows: list[tuple]) -> Fleet:  # type: ignore[type-arg]
    ids, sizes, activated, pauses, shares = (list(column) for column in zip(*rows, strict=True))
    return Fleet.build(ids, sizes, activated, pauses, shares=shares)


fleets = st.lists(deployment, min_size=1, max_size=20).map(_fleet)
# Mostly windows around the fleet's life, sometimes anything at all.
windows = st.one_of(st.integers(W0 - 45 * 1440, W0 + 3 * 1440), st.integers(-(2**40), 2**40))


def _edges(fleet: Fleet, position: int) -> list[int]:
    """Windows around a deployment's activation, pauses, resumes and share steps: where off-by-ones hide."""
    pauses = slice(fleet.off_ptr[position], fleet.off_ptr[position + 1])
    steps = slice(fleet.share_ptr[position], fleet.share_ptr[position + 1])
    instants = np.concatenate(
        (
            [fleet.activated_at[position]],
            fleet.off_start[pauses],
            fleet.off_end[pauses],
            fleet.share_at[steps],
        )
    )
    instants = instants[np.isfinite(instants)]
    near = np.floor(instants / WINDOW_SECONDS).astype(np.int64)[:, None] + np.arange(-1, 3)
    return sorted(set(near.ravel().tolist()))


@st.composite
def fleet_and_pairs(draw: st.DrawFn) -> tuple[Fleet, np.ndarray, np.ndarray]:
    """A fleet plus some (position, window) pairs in it, many at the deployment's own edges."""
    fleet = draw(fleets)
    count = draw(st.integers(1, 60))
    index = draw(st.lists(st.integers(0, fleet.n - 1), min_size=count, max_size=count))
    window = []
    for position in index:
        edges = _edges(fleet, position)
        window.append(draw(st.one_of(windows, st.sampled_from(edges)) if edges else windows))
    return fleet, np.array(index), np.array(window)


def _serves(fleet: Fleet, position: int, window: int) -> bool:
    """The definition of serving, pair by pair: activated by the window start, no pause covering
    the window start or beginning inside the window, and a share in force at the window start (its
    last step at or before it; 1 before any) above 0: at 0 it stands by."""
    start = window * WINDOW_SECONDS
    if not fleet.activated_at[position] <= start:
        return False
    pauses = slice(fleet.off_ptr[position], fleet.off_ptr[position + 1])
    paused = any(
        s < start + WINDOW_SECONDS and start < e
        for s, e in zip(fleet.off_start[pauses], fleet.off_end[pauses], strict=True)
    )
    steps = slice(fleet.share_ptr[position], fleet.share_ptr[position + 1])
    in_force = [v for a, v in zip(fleet.share_at[steps], fleet.share_value[steps], strict=True) if a <= start]
    return not paused and (in_force[-1] if in_force else 1.0) > 0


def test_no_pairs_give_empty_figures() -> None:
    # given: an empty fleet, and a fleet asked for no pairs (in 2-D)
    empty = Fleet.build([], [], [])
    one = Fleet.build([7], [0], [T0])
    # when
    none_of_empty = compute_metrics(empty, np.zeros(0, dtype=np.int64), W0)
    none_of_one = compute_metrics(one, np.zeros((0, 3), dtype=np.int64), W0 + np.arange(3))
    health = assess_health(empty, np.zeros(0, dtype=np.int64), W0)
    # then
    assert none_of_empty.p99.shape == none_of_empty.request_count.shape == (0,)
    assert none_of_one.p99.shape == none_of_one.window.shape == (0, 3)
    assert health.code.shape == (0,)


@settings(max_examples=100, deadline=None)
@given(fleet_and_pairs())
def test_metrics_are_consistent_for_any_fleet_and_window(case: tuple[Fleet, np.ndarray, np.ndarray]) -> None:
    # given
    fleet, index, window = case
    # when
    m = compute_metrics(fleet, index, window)
    # then
    traffic = m.request_count > 0
    assert np.array_equal(m.window, window)
    assert np.all(m.request_count >= 0)
    assert np.all((m.error_count >= 0) & (m.error_count <= m.request_count))
    assert np.array_equal(m.request_volume, m.request_count / WINDOW_SECONDS)
    assert not np.any(traffic & ~m.serving)
    for figure in (m.p50, m.p95, m.p99, m.error_rate):
        assert np.all(np.isfinite(figure[traffic]))
        assert np.all(np.isnan(figure[~traffic]))
    assert np.all(m.p50[traffic] > 0)
    assert np.all(m.p50[traffic] <= m.p95[traffic])
    assert np.all(m.p95[traffic] <= m.p99[traffic])
    assert np.all((m.error_rate[traffic] >= 0) & (m.error_rate[traffic] <= 100))
    assert np.all(np.isfinite(m.request_volume))
    assert np.all(m.p99[traffic] <= TIMEOUT_MS)
    # LLM figures: time to first token within the request's latency, zeros and nulls when not serving
    for figure in (m.ttft_p50, m.ttft_p95):
        assert np.all(np.isfinite(figure[traffic])) and np.all(np.isnan(figure[~traffic]))
    assert np.all((m.ttft_p50[traffic] > 0) & (m.ttft_p50[traffic] <= m.ttft_p95[traffic]))
    assert np.all((m.ttft_p50[traffic] <= m.p50[traffic]) & (m.ttft_p95[traffic] <= m.p95[traffic]))
    assert np.all(m.tokens_per_second >= 0) and np.all(m.tokens_per_second[~m.serving] == 0)
    # replicas where it serves or stands by (loaded, idle at 0 %), none elsewhere (utilisation null)
    loaded = m.replicas > 0
    assert np.all(loaded[m.serving]) and np.all(m.replicas[loaded] >= 1)
    assert np.array_equal(m.replicas, np.rint(m.replicas))
    assert np.array_equal(np.isnan(m.utilization), ~loaded)
    assert np.all((m.utilization[m.serving] >= 0) & (m.utilization[m.serving] <= 100))
    assert np.all(m.utilization[loaded & ~m.serving] == 0)


@settings(max_examples=150, deadline=None)
@given(fleet_and_pairs())
def test_serving_follows_activation_pauses_and_shares(case: tuple[Fleet, np.ndarray, np.ndarray]) -> None:
    # given
    fleet, index, window = case
    # when
    serving = compute_metrics(fleet, index, window).serving
    # then
    expected = [_serves(fleet, int(i), int(w)) for i, w in zip(index, window, strict=True)]
    assert serving.tolist() == expected


def test_serving_switches_at_window_starts() -> None:
    # given: activated on a window start; paused mid-window; resumed on a window start
    start = W0 * WINDOW_SECONDS
    fleet = Fleet.build([7, 8], [0, 1], [start, start + 30.0], [[(start + 150.0, start + 300.0)], []])
    windows = W0 + np.arange(-1, 7)
    # when
    first = compute_metrics(fleet, 0, windows).serving
    second = compute_metrics(fleet, 1, windows).serving
    # then: the pause at +150 s already empties window 2 (+120 s to +180 s), so a paused
    # deployment never shows traffic; window 5 starts at +300 s, the resume
    assert first.tolist() == [False, True, True, False, False, False, True, True]
    assert second.tolist() == [False, False, True, True, True, True, True, True]


@settings(max_examples=100, deadline=None)
@given(fleet_and_pairs())
def test_health_is_no_traffic_exactly_when_not_serving(case: tuple[Fleet, np.ndarray, np.ndarray]) -> None:
    # given
    fleet, index, window = case
    w = int(window[0])
    m = compute_metrics(fleet, index, w)
    # when
    trailing = trailing_mean_volume(fleet, index, w)
    health = assess_health(fleet, index, w)
    # then
    assert np.all(np.isfinite(trailing)) and np.all(trailing >= 0)
    assert health.code.dtype == np.int8
    assert np.array_equal(health.code == NO_TRAFFIC, ~m.serving)
    assert set(np.unique(health.code).tolist()) <= {0, 1, 2, 3}
    assert np.array_equal(health.trailing, trailing)
    assert np.all(health.levels.max(axis=0)[m.serving] == health.code[m.serving])


@settings(max_examples=60, deadline=None)
@given(
    fleets,
    st.integers(W0 - 2 * 1440, W0 + 1440),
    st.sampled_from([1, 7, 15, 60, 360]),
    st.integers(1, 40),
)
# A standby since its activation (a share of 0): idle replicas, utilisation 0 %, in one window and in a step.
@example(_fleet([(0, 0, T0 - 86_400.0, [], [(T0 - 86_400.0, 0.0)])]), W0, 1, 1)
@example(_fleet([(0, 0, T0 - 86_400.0, [], [(T0 - 86_400.0, 0.0)])]), W0, 60, 3)
def test_series_points_are_consistent(fleet: Fleet, end_window: int, step: int, points: int) -> None:
    # when
    s = compute_series(fleet, fleet.n - 1, end_window, step, points)
    # then
    traffic = s.request_count > 0
    assert s.window.shape == (points,)
    assert np.array_equal(np.diff(s.window), np.full(points - 1, step))
    assert s.window[-1] + step - 1 == end_window
    for figure in (s.p50, s.p95, s.p99, s.error_rate):
        assert np.all(np.isfinite(figure[traffic]))
    assert np.all(s.p50[traffic] <= s.p95[traffic])
    assert np.all(s.p95[traffic] <= s.p99[traffic])
    assert np.all((s.error_rate[traffic] >= 0) & (s.error_rate[traffic] <= 100))
    assert np.all(np.isfinite(s.request_volume) & (s.request_volume >= 0))
    assert np.all(s.error_count <= s.request_count)
    assert np.all(s.p99[traffic] <= TIMEOUT_MS)
    assert np.all(s.ttft_p50[traffic] <= s.p50[traffic])
    assert np.all((s.replicas >= 0) & (s.replicas <= 64))
    assert np.array_equal(np.isnan(s.utilization), s.replicas == 0)  # a standby's replicas idle at 0 %


def test_a_chart_points_percentile_is_the_exact_quantile_of_its_mixture() -> None:
    """The hourly P95/P99 of a chart point: the mixture of its windows' log-normals, solved to 1e-5
    (against a bisection of the exact CDF), also for wide mixtures that need more Newton rounds."""
    from simulator.series import mixture_quantile

    rng = np.random.default_rng(7)
    components, columns = 15, 400
    weight = rng.gamma(1.0, 1.0, (components, columns))
    weight[rng.random((components, columns)) < 0.2] = 0.0  # windows with no requests
    weight[0] += 1e-3
    mu = rng.normal(math.log(0.1), 0.6, (components, columns))
    shape = rng.uniform(0.15, 0.9, (components, columns))
    p95, p99 = 1.6448536269514722, 2.3263478740408408  # the standard scores of P95 and P99
    z = np.tile([p95, p99, 0.0, p99], columns // 4)
    solved = mixture_quantile(weight, mu, shape, z)

    erf = np.vectorize(math.erf)
    target = 0.5 * (1 + erf(z / math.sqrt(2)))
    w = weight / weight.sum(axis=0)
    lo, hi = np.full(columns, -30.0), np.full(columns, 10.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = (w * 0.5 * (1 + erf((mid - mu) / (shape * math.sqrt(2))))).sum(axis=0)
        lo, hi = np.where(cdf < target, mid, lo), np.where(cdf < target, hi, mid)
    exact = np.exp((lo + hi) / 2)
    assert np.max(np.abs(solved / exact - 1)) < 1e-5
