"""The split's default moves (db/traffic.py) as a pure rule: for any split and any move, the ACTIVE
versions' shares sum to 100 afterwards and every other version holds 0 (hypothesis)."""

from hypothesis import given
from hypothesis import strategies as st

from db.traffic import FULL, Version, after_move, rounded
from domain import ACTIVATE, PAUSE, RESUME, DeploymentStatus

STATUSES = [DeploymentStatus.ACTIVE, DeploymentStatus.PAUSED, DeploymentStatus.DEPLOYING]


@st.composite
def fleets(draw: st.DrawFn) -> list[Version]:
    """A model's versions with a valid split (ACTIVE shares summing to 100, the rest 0)."""
    statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=8))
    weights = [draw(st.integers(0, 1000)) for _ in statuses]
    active = [i for i, s in enumerate(statuses) if s == DeploymentStatus.ACTIVE]
    total = sum(weights[i] for i in active)
    if active and total == 0:
        weights[active[-1]] = 1
        total = 1
    shares = rounded({i: weights[i] * FULL / total for i in active}) if active else {}
    return [Version(i + 1, (1, i, 0), s, shares.get(i, 0.0)) for i, s in enumerate(statuses)]


def _valid(versions: list[Version], new: dict[int, float]) -> bool:
    active = [v.id for v in versions if v.status == DeploymentStatus.ACTIVE]
    others_zero = all(new[v.id] == 0.0 for v in versions if v.status != DeploymentStatus.ACTIVE)
    return others_zero and (not active or abs(sum(new[i] for i in active) - FULL) < 1e-6)


@given(fleets(), st.data())
def test_every_default_move_keeps_the_split_summing_to_100(
    versions: list[Version], data: st.DataObject
) -> None:
    # given: a version that can make one of the moves that change the split
    movable = [(v, move) for v in versions for move in (ACTIVATE, PAUSE, RESUME) if v.status in move.sources]
    if not movable:
        return
    version, move = data.draw(st.sampled_from(movable))
    # when: it moves (statuses after the move), and the split follows
    after = [Version(v.id, v.version, move.target if v is version else v.status, v.percent) for v in versions]
    assert move.share is not None and move.target is not None
    new = after_move(after, version.id, move.share)
    # then
    assert _valid(after, new), (versions, version, move.kind, new)
    if move is ACTIVATE:
        assert new[version.id] == FULL
    if move is RESUME and sum(v.status == DeploymentStatus.ACTIVE for v in after) > 1:
        assert new[version.id] == 0.0
    if move is PAUSE:
        kept = {v.id: v.percent for v in after if v.status == DeploymentStatus.ACTIVE}
        if sum(kept.values()) > 0:  # in proportion: the others' ratios stay as they were
            base = max(kept, key=kept.__getitem__)
            for i, p in kept.items():
                assert abs(new[i] * kept[base] - p * new[base]) < 1e-3 * FULL * FULL
