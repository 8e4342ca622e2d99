"""Simulated training jobs: durations, failures and loss curves."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import loss_curve, training_failure_reason, training_schedule

JOBS = np.arange(1, 4_001) * 31 + 5


def test_schedules_are_deterministic_and_batch_independent() -> None:
    # when
    batch = training_schedule(JOBS, 1, 4, 1.0)
    again = training_schedule(JOBS.copy(), np.full(JOBS.size, 1), np.full(JOBS.size, 4), 1.0)
    alone = training_schedule(JOBS[17:18], 1, 4, 1.0)
    # then
    for name in batch._fields:
        assert np.array_equal(getattr(batch, name), getattr(again, name)), name
        assert getattr(alone, name)[0] == getattr(batch, name)[17], name


def test_a_nano_three_epoch_job_takes_one_to_two_minutes() -> None:
    # when
    schedule = training_schedule(JOBS, 0, 3, 1.0)
    # then
    assert 60 <= np.median(schedule.run_seconds) <= 120
    assert 5 <= np.median(schedule.queue_seconds) <= 60


def test_durations_grow_with_size_and_epochs_and_scale_linearly() -> None:
    # when
    by_size = [np.median(training_schedule(JOBS, size, 3, 1.0).run_seconds) for size in range(3)]
    by_epochs = [np.median(training_schedule(JOBS, 1, epochs, 1.0).run_seconds) for epochs in (1, 3, 10)]
    unit, fast = training_schedule(JOBS, 2, 5, 1.0), training_schedule(JOBS, 2, 5, 0.01)
    instant = training_schedule(JOBS, 2, 5, 0.0)
    # then
    assert by_size[0] < by_size[1] < by_size[2]
    assert by_epochs[0] < by_epochs[1] < by_epochs[2]
    assert np.allclose(fast.run_seconds, 0.01 * unit.run_seconds)
    assert np.allclose(fast.queue_seconds, 0.01 * unit.queue_seconds)
    assert np.all(instant.run_seconds == 0) and np.all(instant.queue_seconds == 0)
    assert np.array_equal(fast.fails, unit.fails)


def test_a_few_jobs_fail_partway() -> None:
    # when
    schedule = training_schedule(JOBS, 0, 3, 1.0)
    # then
    assert 0.03 < schedule.fails.mean() < 0.07
    stopped = schedule.fail_fraction[schedule.fails]
    assert np.all((stopped > 0) & (stopped < 1))
    assert np.all(schedule.fail_fraction[~schedule.fails] == 1.0)
    reasons = {training_failure_reason(int(job)) for job in JOBS[schedule.fails]}
    assert 3 <= len(reasons) <= 10
    assert training_failure_reason(int(JOBS[0])) == training_failure_reason(int(JOBS[0]))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        training_schedule(JOBS, 0, 0, 1.0)
    with pytest.raises(ValueError):
        training_schedule(JOBS, 0, 3, -1.0)
    with pytest.raises(ValueError):
        loss_curve(1, 0, 0.0, 3, [0.5])
    with pytest.raises(ValueError):
        loss_curve(1, 0, 1e-4, 3, [float("nan")])


def test_loss_falls_towards_a_floor_that_bigger_models_reach_lower() -> None:
    # given
    progress = np.linspace(0.0, 1.0, 201)
    # when
    curves = {
        size: np.array([loss_curve(int(j), size, 2e-4, 3, progress) for j in JOBS[:200]]) for size in range(3)
    }
    # then
    for curve in curves.values():
        assert np.all(curve[:, -1] < 0.85 * curve[:, 0])
        assert np.median(curve[:, -1] / curve[:, 0]) < 0.6
        assert np.all(curve[:, 100:].mean(axis=1) < curve[:, :100].mean(axis=1))
    finals = [np.median(curves[size][:, -1]) for size in range(3)]
    assert finals[0] > finals[1] > finals[2] > 0.2


def test_a_too_small_learning_rate_ends_higher() -> None:
    # when
    best = np.median([loss_curve(int(j), 1, 2e-4, 3, [1.0])[0] for j in JOBS[:200]])
    slow = np.median([loss_curve(int(j), 1, 1e-6, 3, [1.0])[0] for j in JOBS[:200]])
    # then
    assert slow > 1.3 * best


def test_final_loss_does_not_depend_on_the_other_points_asked_for() -> None:
    # when
    final = loss_curve(42, 2, 3e-4, 5, [1.0])
    curve = loss_curve(42, 2, 3e-4, 5, np.linspace(0.0, 1.0, 77))
    # then
    assert final.shape == (1,)
    assert final[0] == curve[-1]
    assert np.array_equal(curve, loss_curve(42, 2, 3e-4, 5, np.linspace(0.0, 1.0, 77)))


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 2**63 - 1),
    st.integers(0, 2),
    st.floats(1e-9, 1e3),
    st.integers(1, 50),
    st.lists(st.floats(-1.0, 2.0), min_size=1, max_size=20),
)
def test_loss_is_always_a_positive_finite_number(
    job: int, size: int, learning_rate: float, epochs: int, progress: list[float]
) -> None:
    # when
    loss = loss_curve(job, size, learning_rate, epochs, np.array(progress))
    # then
    assert loss.shape == (len(progress),)
    assert np.all(np.isfinite(loss)) and np.all(loss > 0)
