"""The fleet snapshot carries simulator traits over between revisions: the same as deriving them anew."""

from dataclasses import fields

import numpy as np

from db.fleet_rows import FleetRows
from resolvers.snapshot import _empty_snapshot, _merge, model_key
from simulator import Traits, traits_of


def rows(ids: list[int], names: list[str], deleted: list[bool] | None = None) -> FleetRows:
    """Changed deployment rows, all ACTIVE and activated at one instant."""
    n = len(ids)
    return FleetRows(
        ids=np.array(ids, dtype=np.int64),
        deleted=np.array(deleted or [False] * n),
        status=np.ones(n, dtype=np.int8),
        size=(np.array(ids) % 3).astype(np.int8),
        training_job_id=np.ones(n, dtype=np.int64),
        created_at=np.full(n, 1.7e9),
        updated_at=np.full(n, 1.7e9),
        activated_at=np.full(n, 1.7e9),
        version=np.tile([1, 0, 0], (n, 1)),
        model_name=names,
        model_name_folded=[name.casefold() for name in names],
        pause_owner=np.zeros(0, dtype=np.int64),
        pause_start=np.zeros(0),
        pause_end=np.zeros(0),
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
