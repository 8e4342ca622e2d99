"""A version serves its share of its model's traffic (simulator/fleet.py share steps): the model's
requests are one count, and each version's is a binomial draw of its share of it, as a weighted
router splits requests."""

import numpy as np
import pytest

from simulator import WINDOW_SECONDS, Fleet, compute_metrics, together, trailing_mean_volume

T0 = 1_704_067_200.0  # Monday 2024-01-01 00:00 UTC
W0 = int(T0 // WINDOW_SECONDS)
DAY = 86_400.0
MODEL = 424_242


def _model(sizes: list[int], shares: list[list[tuple[float, float]]], activated: list[float]) -> Fleet:
    """Versions of one model (ids 11, 12, …), activated at these instants, with these share steps."""
    n = len(sizes)
    return Fleet.build(
        ids=list(range(11, 11 + n)),
        size=sizes,
        activated_at=activated,
        model=[MODEL] * n,
        shares=shares,
        model_activated_at=[min(activated)] * n,
    )


def binomial_z(part: np.ndarray, whole: np.ndarray, share: float) -> np.ndarray:
    """How far each count is from its share of the whole, in a binomial's standard deviations."""
    return (part - share * whole) / np.sqrt(whole * share * (1.0 - share))


def test_each_version_serves_its_share_of_the_models_count() -> None:
    # given: a model's whole traffic on one version, and the same model split 30 / 35 / 35 over others
    steps = [[], [(T0, 0.3)], [(T0, 0.35)], [(T0, 0.35)]]
    fleet = _model([1, 1, 1, 1], steps, [T0 - 10 * DAY] * 4)
    windows = W0 + np.arange(1440)
    # when
    m = compute_metrics(fleet, np.arange(4)[:, None], windows[None, :])
    whole, thirty, one, other = m.request_count
    # then: each version's count is a binomial draw of its share of the model's: centred on the
    # share, spread as a binomial's (outside its own incidents: a traffic drop cuts one slice)
    assert whole.min() > 100
    for part, share in ((thirty, 0.3), (one, 0.35), (other, 0.35)):
        z = binomial_z(part, whole, share)
        assert abs(np.median(z)) < 0.15 and 0.7 < np.std(z[np.abs(z) < 5]) < 1.2
        assert np.mean(np.abs(z) < 4) > 0.97
    # and two versions of one share differ minute to minute, as a router's split does
    assert np.mean(one == other) < 0.1
    # and errors and latency are each version's own
    assert np.all(m.error_count <= m.request_count)
    assert not np.allclose(m.p50[1], m.p50[2])


def test_a_share_takes_effect_at_the_next_window_start_and_scales_the_traffic_baseline() -> None:
    # given: a version with all of its model's traffic until T0 + 90 s, then 25 %
    fleet = _model([0, 0], [[], [(T0 + 90.0, 0.25)]], [T0 - 10 * DAY] * 2)
    # when
    m = compute_metrics(fleet, np.array([[0], [1]]), W0 + np.arange(4)[None, :])
    trailing = trailing_mean_volume(fleet, np.array([0, 1]), np.full(2, W0 + 3))
    # then: windows 0 and 1 are whole, from window 2 (the first starting after the step) a quarter
    whole, quarter = m.request_count
    assert np.array_equal(quarter[:2], whole[:2])
    assert np.all(np.abs(binomial_z(quarter[2:], whole[2:], 0.25)) < 4)
    # and the baseline the traffic rule compares with is the share's too: no "drop"
    assert trailing[1] == pytest.approx(0.25 * trailing[0], rel=1e-5)


def test_a_new_version_of_an_established_model_takes_its_full_traffic_at_once() -> None:
    # given: v1 serving for ten days; v2 activated at T0 takes all the traffic (v1 standing by)
    fleet = Fleet.build(
        ids=[11, 12],
        size=[1, 1],
        activated_at=[T0 - 10 * DAY, T0],
        off_intervals=[[(T0, float("inf"))], []],
        model=[MODEL, MODEL],
        model_activated_at=[T0 - 10 * DAY] * 2,
    )
    alone = Fleet.build(ids=[12], size=[1], activated_at=[T0], model=[MODEL])
    # when: an hour after the switch
    hour = W0 + 60 + np.arange(60)
    v2 = compute_metrics(fleet, 1, hour).request_count
    v1_before = compute_metrics(fleet, 0, hour - 120).request_count
    new_model = compute_metrics(alone, 0, hour).request_count
    # then: v2 carries what v1 carried before it (no day-long ramp-up), unlike a brand-new model
    assert 0.6 < v2.sum() / v1_before.sum() < 1.6
    assert new_model.sum() < 0.3 * v2.sum()


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([[(T0, 1.5)]], "fraction from 0 to 1"),
        ([[(T0, -0.1)]], "fraction from 0 to 1"),
        ([[(float("nan"), 0.5)]], "fraction from 0 to 1"),
        ([[], []], "shares has 2 entries for 1 deployments"),
    ],
)
def test_bad_share_steps_are_refused(shares: list[list[tuple[float, float]]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fleet.build(ids=[1], size=[0], activated_at=[T0], shares=shares)


def test_a_standby_stays_warm_and_takes_traffic_back_without_a_cold_start() -> None:
    # given: two LARGE deployments of two models; for the hour from T0 one stands by at 0 % of its
    # model's traffic, the other is paused
    hour = 3_600.0
    fleet = Fleet.build(
        ids=[11, 12],
        size=[2, 2],
        activated_at=[T0 - 10 * DAY] * 2,
        off_intervals=[[], [(T0, T0 + hour)]],
        model=[MODEL, MODEL + 1],
        shares=[[(T0, 0.0), (T0 + hour, 1.0)], []],
    )
    windows = W0 - 60 + np.arange(180)  # the hour before, the hour off, the hour after
    # when
    m = compute_metrics(fleet, np.arange(2)[:, None], windows[None, :])
    off = slice(60, 120)
    # then: standing by, it serves no requests but keeps its replicas loaded, idle; paused, it has none
    assert not m.serving[:, off].any() and (m.request_count[:, off] == 0).all()
    assert (m.replicas[0, off] >= 1).all() and (m.utilization[0, off] == 0).all()
    assert (m.replicas[1, off] == 0).all() and np.isnan(m.utilization[1, off]).all()
    # and taking its traffic back its first minutes are as fast as before (warm), while the paused
    # one's replicas load first (a cold start: slower and failing more)
    usual = np.nanmedian(m.p50[:, :60], axis=1)
    first = m.p50[:, 120:122].mean(axis=1)
    assert first[0] < 1.5 * usual[0]
    assert first[1] > 2 * usual[1]


def test_a_models_replicas_count_its_standbys_idle_ones_but_its_utilisation_does_not() -> None:
    # given: a model's two versions, one with all the traffic, one standing by at 0 %
    fleet = _model([1, 1], [[(T0, 1.0)], [(T0, 0.0)]], [T0 - 10 * DAY] * 2)
    m = compute_metrics(fleet, np.arange(2)[None, :], W0 + 10 + np.arange(30)[:, None])
    # when
    model = together(m)
    # then: the standby's replicas run (and count), its idle 0 % does not dilute the serving one's
    assert (m.replicas[:, 1] >= 1).all() and not m.serving[:, 1].any()
    assert np.array_equal(model.replicas, m.replicas.sum(axis=1))
    assert np.allclose(model.utilization, m.utilization[:, 0])
