"""setTrafficSplit and rollbackModel (issue 15, item 5): shares between ACTIVE versions, every
INVALID_SPLIT changing nothing, and the split before the last change restored in one call."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.support import Api
from tests.test_api_traffic import PAUSE, _split, _sums_to_100, shares, two_apps, versions

SET = """mutation($model: String!, $shares: [TrafficShareInput!]!) {
  setTrafficSplit(input: {modelName: $model, shares: $shares}) {
    model { name trafficSplit { percent deployment { version } } } errors { code message field } } }"""
ROLLBACK = """mutation($model: String!) { rollbackModel(input: {modelName: $model}) {
    model { trafficSplit { percent deployment { version } } } errors { code message field } } }"""
TRAILS = (
    """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Deployment { events { kind actor message } } } }"""
)


def split(payload: dict[str, Any]) -> list[tuple[str, float]]:
    return [(s["deployment"]["version"], s["percent"]) for s in payload["model"]["trafficSplit"]]


async def test_a_split_set_by_hand_with_its_events(api: Api) -> None:
    # given
    v0, v1, v2 = await versions(api, 3)
    # when: two of three ACTIVE versions share the traffic; the third, unlisted, gets 0
    payload = (
        await api.query(
            SET,
            {
                "model": "ranker",
                "shares": [{"deploymentId": v0, "percent": 70}, {"deploymentId": v1, "percent": 30}],
            },
        )
    )["setTrafficSplit"]
    # then
    assert payload["errors"] == []
    assert split(payload) == [("v1.2.0", 0.0), ("v1.1.0", 30.0), ("v1.0.0", 70.0)]
    assert await shares(api, [v0, v1, v2]) == [70.0, 30.0, 0.0]
    trails = [n["events"][-1] for n in (await api.query(TRAILS, {"ids": [v0, v1, v2]}))["nodes"]]
    assert [(e["kind"], e["actor"], e["message"]) for e in trails] == [
        ("TRAFFIC_CHANGED", "anonymous", "Traffic 0 % → 70 %: split set"),
        ("TRAFFIC_CHANGED", "anonymous", "Traffic 0 % → 30 %: split set"),
        ("TRAFFIC_CHANGED", "anonymous", "Traffic 100 % → 0 %: split set"),
    ]
    # and shares within 0.01 of 100 are accepted, stored summing to 100 exactly
    payload = (
        await api.query(
            SET,
            {
                "model": "ranker",
                "shares": [
                    {"deploymentId": v0, "percent": 33.333},
                    {"deploymentId": v1, "percent": 33.333},
                    {"deploymentId": v2, "percent": 33.333},
                ],
            },
        )
    )["setTrafficSplit"]
    assert payload["errors"] == [] and sum(await shares(api, [v0, v1, v2])) == 100.0


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("sum", ["input", "shares"], "The shares sum to 90, not 100"),
        ("negative", ["input", "shares", "1", "percent"], "A share is 0 to 100 percent, not -10.0"),
        (
            "paused",
            ["input", "shares", "0", "deploymentId"],
            "is PAUSED: shares go to ACTIVE versions of 'ranker'",
        ),
        ("other model", ["input", "shares", "0", "deploymentId"], "is not a version of this model"),
        ("twice", ["input", "shares", "1", "deploymentId"], "v1.1.0 is listed twice"),
    ],
)
async def test_an_invalid_split_is_refused_and_changes_nothing(
    api: Api, case: str, field: list[str], message: str
) -> None:
    # given
    v0, v1, v2 = await versions(api, 3)
    (other,) = await versions(api, 1, model_name="elsewhere")
    await api.query(PAUSE, {"id": v2})  # v1 takes its traffic
    wanted = {
        "sum": [(v0, 50), (v1, 40)],
        "negative": [(v0, 50), (v1, -10)],
        "paused": [(v2, 100)],
        "other model": [(other, 100)],
        "twice": [(v1, 50), (v1, 50)],
    }[case]
    before = await api.query(TRAILS, {"ids": [v0, v1, v2]})
    # when
    payload = (
        await api.query(
            SET, {"model": "ranker", "shares": [{"deploymentId": d, "percent": p} for d, p in wanted]}
        )
    )["setTrafficSplit"]
    # then
    assert payload["model"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID_SPLIT" and error["field"] == field and message in error["message"], error
    assert await shares(api, [v0, v1, v2]) == [0.0, 100.0, 0.0]
    assert await api.query(TRAILS, {"ids": [v0, v1, v2]}) == before


async def test_an_unknown_model_or_id_is_its_own_error(api: Api) -> None:
    (v0,) = await versions(api, 1)
    unknown = await api.query(SET, {"model": "nope", "shares": [{"deploymentId": v0, "percent": 100}]})
    assert [(e["code"], e["field"]) for e in unknown["setTrafficSplit"]["errors"]] == [
        ("NOT_FOUND", ["input", "modelName"])
    ]
    bad = await api.query(SET, {"model": "ranker", "shares": [{"deploymentId": "x", "percent": 100}]})
    assert [(e["code"], e["field"]) for e in bad["setTrafficSplit"]["errors"]] == [
        ("INVALID_ID", ["input", "shares", "0", "deploymentId"])
    ]
    assert [
        (e["code"]) for e in (await api.query(ROLLBACK, {"model": "nope"}))["rollbackModel"]["errors"]
    ] == ["NOT_FOUND"]


async def test_rollback_restores_the_split_before_the_last_change(api: Api) -> None:
    # given: v1.1.0 took all of v1.0.0's traffic when it was activated, then a 60/40 split was set
    v0, v1 = await versions(api, 2)
    await api.query(
        SET,
        {
            "model": "ranker",
            "shares": [{"deploymentId": v0, "percent": 60}, {"deploymentId": v1, "percent": 40}],
        },
    )
    api.clock.advance(seconds=10)
    # when / then: one rollback restores all to v1.1.0; a second, the 60/40 split again
    first = (await api.query(ROLLBACK, {"model": "ranker"}))["rollbackModel"]
    assert first["errors"] == [] and split(first) == [("v1.1.0", 100.0), ("v1.0.0", 0.0)]
    api.clock.advance(seconds=10)
    second = (await api.query(ROLLBACK, {"model": "ranker"}))["rollbackModel"]
    assert split(second) == [("v1.1.0", 40.0), ("v1.0.0", 60.0)]
    trail = (await api.query(TRAILS, {"ids": [v0]}))["nodes"][0]["events"]
    assert trail[-1] == {
        "kind": "TRAFFIC_CHANGED",
        "actor": "anonymous",
        "message": "Traffic 0 % → 60 %: rolled back",
    }
    # and a rollback that would give traffic to a version paused since is refused, changing nothing
    api.clock.advance(seconds=10)
    await api.query(PAUSE, {"id": v0})  # v1.1.0 takes its 60 %: that is the last change
    assert await shares(api, [v0, v1]) == [0.0, 100.0]
    refused = (await api.query(ROLLBACK, {"model": "ranker"}))["rollbackModel"]
    assert [e["code"] for e in refused["errors"]] == ["INVALID_SPLIT"]
    assert "PAUSED now" in refused["errors"][0]["message"]
    assert await shares(api, [v0, v1]) == [0.0, 100.0]


async def test_racing_splits_and_pauses_keep_the_split_summing_to_100(tmp_path: Path) -> None:
    async with two_apps(tmp_path) as (a, b):
        deps = await versions(a, 4)
        splits = [
            [{"deploymentId": d, "percent": p} for d, p in zip(deps, percents, strict=True)]
            for percents in ((25, 25, 25, 25), (10, 20, 30, 40), (0, 0, 50, 50), (97, 1, 1, 1))
        ]
        # when: four splits, two pauses and two rollbacks race from both apps
        await asyncio.gather(
            *((a if i % 2 else b).query(SET, {"model": "ranker", "shares": s}) for i, s in enumerate(splits)),
            a.query(PAUSE, {"id": deps[0]}),
            b.query(PAUSE, {"id": deps[1]}),
            a.query(ROLLBACK, {"model": "ranker"}),
            b.query(ROLLBACK, {"model": "ranker"}),
        )
        # then
        assert _sums_to_100(await _split(a, "ranker"))
