"""The fleet snapshot carries simulator traits over between revisions: the same as deriving them anew."""

from dataclasses import fields

import numpy as np
import pytest

from db.fleet_rows import FleetRows, Timelines
from resolvers.snapshot import _empty_snapshot, _merge, model_key
from simulator import Traits, traits_of


def rows(
    ids: list[int],
    names: list[str],
    deleted: list[bool] | None = None,
    activated: list[float] | None = None,
    shares: list[tuple[int, float, float]] = (),  # type: ignore[assignment]
) -> FleetRows:
    """Changed deployment rows, all ACTIVE and activated at one instant unless told."""
    n = len(ids)
    steps = list(zip(*shares, strict=True)) if shares else [(), (), ()]
    return FleetRows(
        ids=np.array(ids, dtype=np.int64),
        deleted=np.array(deleted or [False] * n),
        status=np.ones(n, dtype=np.int8),
        size=(np.array(ids) % 3).astype(np.int8),
        training_job_id=np.ones(n, dtype=np.int64),
        created_at=np.full(n, 1.7e9),
        updated_at=np.full(n, 1.7e9),
        activated_at=np.array(activated or [1.7e9] * n),
        version=np.tile([1, 0, 0], (n, 1)),
        model_name=names,
        model_name_folded=[name.casefold() for name in names],
        timelines=Timelines(
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0),
            np.array(steps[0], dtype=np.int64),
            np.array(steps[1], dtype=np.float64),
            np.array(steps[2], dtype=np.float32),
        ),
    )


def test_merged_traits_equal_traits_derived_from_scratch() -> None:
    # given: a snapshot built over three revisions (inserts, a rename-free update, a delete)
    first = _merge(_empty_snapshot(), rows([5, 9, 2, 40], ["a", "b", "a", "c"]), 1)
    second = _merge(first, rows([9, 7], ["b", "c"]), 2)
    third = _merge(second, rows([2], ["a"], deleted=[True]), 3)
    # when
    fresh = traits_of(
        third.ids, third.size, np.array([model_key(third.names[c]) for c in third.name_code], dtype=np.int64)
    )
    # then
    assert third.ids.tolist() == [5, 7, 9, 40]
    for f in fields(Traits):
        assert np.array_equal(getattr(third.fleet.traits, f.name), getattr(fresh, f.name)), f.name
    # and a model's deployments share its rhythm, whichever revision brought them
    assert third.fleet.traits.week_start[1] == third.fleet.traits.week_start[3]  # 7 and 40: model "c"


def test_a_models_traffic_starts_at_its_first_activation_and_shares_carry_over() -> None:
    # given: model "a" first activated by 2 (later deleted), then 5 and 8; 5 holds 30 % from T
    t = 1.7e9
    first = _merge(_empty_snapshot(), rows([2, 5], ["a", "a"], activated=[t - 86_400, t]), 1)
    second = _merge(first, rows([2], ["a"], deleted=[True], activated=[t - 86_400]), 2)
    third = _merge(
        second, rows([8, 5], ["a", "a"], activated=[t + 60, t], shares=[(5, t, 0.3), (8, t, 0.7)]), 3
    )
    fourth = _merge(third, rows([9], ["b"], activated=[t + 120]), 4)
    # when
    fleet = fourth.fleet
    # then: both versions of "a" ramp from the deleted version's activation, "b" from its own
    assert fourth.ids.tolist() == [5, 8, 9]
    assert fleet.model_activated_at.tolist() == [t - 86_400, t - 86_400, t + 120]
    # and each version's share step survived the later merge
    assert fleet.share_ptr.tolist() == [0, 1, 2, 2]
    assert fleet.share_value.tolist() == pytest.approx([0.3, 0.7])
