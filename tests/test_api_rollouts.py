"""Canary and linear rollouts with their guardrail (issue 15, item 4): each step at its scheduled
instant through time-driven settling, automatic rollback on CRITICAL health, one rollout per model,
setTrafficSplit stopping a baking one, bad input changing nothing."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from db.models import TrainingJob
from resolvers import ids
from tests.rollout_support import critical_bake, holds_at
from tests.support import Api, make_deployment, make_job, rollout_succeeds, running_api
from tests.test_api_traffic import PAUSE, shares, two_apps, versions

DEPLOY = """mutation($job: ID!, $rollout: RolloutInput) {
  deployJob(input: {jobId: $job, rollout: $rollout}) { deployment { id } errors { code message field } } }"""
START = """mutation($id: ID!, $rollout: RolloutInput!) {
  startRollout(input: {deploymentId: $id, rollout: $rollout}) {
    model { rollout { state percent } } errors { code message field } } }"""
SET = """mutation($model: String!, $shares: [TrafficShareInput!]!) {
  setTrafficSplit(input: {modelName: $model, shares: $shares}) { errors { code } } }"""
ROLLOUT = """query($model: String!) { model(name: $model) {
  rollout { deployment { version } strategy state percent startedAt nextStepAt reason } } }"""
HEALTH = """query($id: ID!) { deployment(id: $id) { health healthReasons } }"""
TRAIL = """query($id: ID!) { deployment(id: $id) { events { kind actor message at } } }"""


async def rollout(api: Api, model: str = "ranker") -> dict[str, Any] | None:
    return (await api.query(ROLLOUT, {"model": model}))["model"]["rollout"]  # type: ignore[no-any-return]


async def trail(api: Api, deployment: str, *kinds: str) -> list[tuple[str, str, str]]:
    events = (await api.query(TRAIL, {"id": deployment}))["deployment"]["events"]
    return [(e["kind"], e["actor"], e["message"]) for e in events if not kinds or e["kind"] in kinds]


async def _job(api: Api, model: str = "ranker") -> str:
    async with api.db.write() as s:
        job: TrainingJob = make_job(s, model_name=model)
    return ids.encode("TrainingJob", job.id)


async def test_a_canary_takes_its_share_bakes_and_is_promoted_at_its_instant(api: Api) -> None:
    # given: v1.0.0 with all the traffic
    (old,) = await versions(api, 1)
    # when: v1.1.0 is deployed as a 10 % canary baking 600 s
    spec = {"strategy": "CANARY", "percent": 10, "bakeSeconds": 600}
    payload = (await api.query(DEPLOY, {"job": await _job(api), "rollout": spec}))["deployJob"]
    assert payload["errors"] == []
    canary = payload["deployment"]["id"]
    assert rollout_succeeds(canary), "the simulator fails this id's rollout (simulator.rollout_fails)"
    started = api.clock.now
    # then: once ACTIVE (the deploy takes 0 s here) it has 10 %, the former holder the rest
    assert await shares(api, [old, canary]) == [90.0, 10.0]
    assert await holds_at(api, canary, started, 10, [600]), (
        "the simulator makes this id CRITICAL: pick another"
    )
    now = await rollout(api)
    assert now == {
        "deployment": {"version": "v1.1.0"},
        "strategy": "CANARY",
        "state": "BAKING",
        "percent": 10.0,
        "startedAt": started.isoformat(),
        "nextStepAt": (started + timedelta(seconds=600)).isoformat(),
        "reason": None,
    }
    # and one second before its instant it still bakes; at the instant the response shows the promotion
    api.clock.advance(seconds=599)
    assert (await rollout(api) or {})["state"] == "BAKING"
    api.clock.advance(seconds=1)
    promoted = await rollout(api)
    assert promoted is not None
    assert (promoted["state"], promoted["percent"], promoted["nextStepAt"]) == ("PROMOTED", 100.0, None)
    assert await shares(api, [old, canary]) == [0.0, 100.0]
    assert await trail(api, canary, "ROLLOUT_STARTED", "TRAFFIC_CHANGED", "ROLLOUT_PROMOTED") == [
        (
            "ROLLOUT_STARTED",
            "anonymous",
            "Canary rollout of v1.1.0: 10 %, then all after 600 s if it holds",
        ),
        ("TRAFFIC_CHANGED", "system", "Traffic 0 % → 10 %: v1.1.0 rollout step 1"),
        ("TRAFFIC_CHANGED", "system", "Traffic 10 % → 100 %: v1.1.0 promoted"),
        ("ROLLOUT_PROMOTED", "system", "v1.1.0 held through its rollout: promoted to 100 %"),
    ]


async def test_a_linear_rollout_of_a_standby_steps_at_each_instant_even_when_read_late(api: Api) -> None:
    # given: v1.0.0 standing by at 0 %, v1.1.0 with all the traffic
    old, new = await versions(api, 2)
    start = api.clock.now
    assert await holds_at(api, old, start, 30, [60, 120, 180]), "the simulator makes this id CRITICAL"
    # when: v1.0.0 gains 30 % per minute, and nobody reads until long after
    payload = (
        await api.query(
            START, {"id": old, "rollout": {"strategy": "LINEAR", "percent": 30, "bakeSeconds": 60}}
        )
    )["startRollout"]
    assert payload == {"model": {"rollout": {"state": "BAKING", "percent": 30.0}}, "errors": []}
    assert await shares(api, [old, new]) == [30.0, 70.0]
    api.clock.advance(hours=1)
    # then: every step was written at its own instant, and it was promoted at the fourth
    assert (await rollout(api) or {})["state"] == "PROMOTED"
    listed = (await api.query("{ models(first: 5) { nodes { name rollout { state percent } } } }"))["models"]
    assert listed["nodes"] == [{"name": "ranker", "rollout": {"state": "PROMOTED", "percent": 100.0}}]
    assert await shares(api, [old, new]) == [100.0, 0.0]
    events = (await api.query(TRAIL, {"id": old}))["deployment"]["events"]
    steps = [(e["message"], e["at"]) for e in events if e["kind"] == "TRAFFIC_CHANGED"][-4:]
    assert steps == [
        (f"Traffic {a} → {b}: v1.0.0 {why}", (start + timedelta(seconds=s)).isoformat())
        for a, b, why, s in (
            ("0 %", "30 %", "rollout step 1", 0),
            ("30 %", "60 %", "rollout step 2", 60),
            ("60 %", "90 %", "rollout step 3", 120),
            ("90 %", "100 %", "promoted", 180),
        )
    ]


async def test_critical_health_at_a_step_rolls_the_split_back_and_quotes_the_reason(api: Api) -> None:
    # given: eight versions, the newest with all the traffic; a standby whose own rollout incident
    # makes it CRITICAL at some instant (the simulator decides by its id, 40 here, after 38 failed
    # deployments of another model; the test finds the instant)
    async with api.db.write() as s:
        job = make_job(s, model_name="other")
        for minor in range(38):
            await make_deployment(s, job, minor=minor, status="FAILED")
    deployed = await versions(api, 8)
    start = api.clock.now
    found = [(d, await critical_bake(api, d, start, 20)) for d in deployed[:-1]]
    canary, bake = next(((d, b) for d, b in found if b is not None), (None, None))
    assert canary is not None and bake is not None, "no version here has a CRITICAL rollout incident"
    before = await shares(api, deployed)
    # when: it is rolled out as a canary baking until that instant
    spec = {"strategy": "CANARY", "percent": 20, "bakeSeconds": bake}
    assert (await api.query(START, {"id": canary, "rollout": spec}))["startRollout"]["errors"] == []
    assert (await shares(api, [canary]))[0] == 20.0
    # and a second before the step (the same one-minute window) the dashboard shows it CRITICAL
    api.clock.advance(seconds=bake - 1)
    health = (await api.query(HEALTH, {"id": canary}))["deployment"]
    assert health["health"] == "CRITICAL"
    assert (await rollout(api) or {})["state"] == "BAKING"
    api.clock.advance(seconds=1)
    # then: the split is what it was before, and the rollout says why
    done = await rollout(api)
    assert done is not None and done["state"] == "ROLLED_BACK" and done["nextStepAt"] is None
    # the reasons the dashboard gave, as the guardrail computed them at the step
    assert done["reason"] == "Health CRITICAL while baking at 20 %: " + "; ".join(health["healthReasons"])
    assert await shares(api, deployed) == before
    rolled = await trail(api, canary, "ROLLED_BACK")
    assert rolled == [("ROLLED_BACK", "system", f"Rolled back: {done['reason']}")]
    # and nothing more happens to it
    api.clock.advance(hours=2)
    assert await shares(api, deployed) == before


async def test_bad_input_is_a_clear_error_that_changes_nothing(api: Api) -> None:
    old, new = await versions(api, 2)
    cases = [
        ({"strategy": "CANARY", "percent": 0}, ["input", "rollout", "percent"], "1 to 99, not 0.0"),
        ({"strategy": "CANARY", "percent": 100}, ["input", "rollout", "percent"], "1 to 99, not 100.0"),
        ({"strategy": "LINEAR", "percent": -5}, ["input", "rollout", "percent"], "1 to 99, not -5.0"),
        ({"strategy": "CANARY", "bakeSeconds": 0}, ["input", "rollout", "bakeSeconds"], "not 0"),
    ]
    for spec, field, words in cases:
        payload = (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]
        assert payload["model"] is None
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == ("INVALID_INPUT", field) and words in error["message"]
        deploy = (await api.query(DEPLOY, {"job": await _job(api), "rollout": spec}))["deployJob"]
        assert [(e["code"], e["field"]) for e in deploy["errors"]] == [("INVALID_INPUT", field)]
    payload = (await api.query(START, {"id": new, "rollout": {}}))["startRollout"]
    assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"]  # it already has all the traffic
    assert await shares(api, [old, new]) == [0.0, 100.0]
    assert await rollout(api) is None


async def test_one_rollout_per_model_and_set_traffic_split_stops_a_baking_one(api: Api) -> None:
    old, new = await versions(api, 2)
    spec = {"strategy": "CANARY", "percent": 10, "bakeSeconds": 600}
    assert (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]["errors"] == []
    # while it bakes, neither another rollout nor a deploy of the model
    again = (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]["errors"]
    assert [(e["code"], e["field"]) for e in again] == [("ROLLOUT_IN_PROGRESS", ["input", "deploymentId"])]
    deploy = (await api.query(DEPLOY, {"job": await _job(api), "rollout": None}))["deployJob"]["errors"]
    assert [e["code"] for e in deploy] == ["ROLLOUT_IN_PROGRESS"]
    # setTrafficSplit stops it where the split is set, and its instant passes with nothing done
    shares_in = [{"deploymentId": old, "percent": 50}, {"deploymentId": new, "percent": 50}]
    assert (await api.query(SET, {"model": "ranker", "shares": shares_in}))["setTrafficSplit"]["errors"] == []
    stopped = await rollout(api)
    assert stopped is not None
    assert (stopped["state"], stopped["nextStepAt"], stopped["reason"]) == (
        "ROLLED_BACK",
        None,
        "Stopped by anonymous: the split was set by hand",
    )
    api.clock.advance(seconds=900)
    assert await shares(api, [old, new]) == [50.0, 50.0]
    assert (await trail(api, old, "ROLLED_BACK"))[0][:2] == ("ROLLED_BACK", "anonymous")
    # and a new rollout may start
    assert (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]["errors"] == []


async def test_racing_rollouts_from_two_apps_one_wins(tmp_path: Path) -> None:
    async with two_apps(tmp_path) as (a, b):
        old, new = await versions(a, 2)
        spec = {"strategy": "CANARY", "percent": 10, "bakeSeconds": 600}
        results = await asyncio.gather(
            a.query(START, {"id": old, "rollout": spec}), b.query(START, {"id": old, "rollout": spec})
        )
        codes = sorted(e["code"] for r in results for e in r["startRollout"]["errors"])
        assert codes == ["ROLLOUT_IN_PROGRESS"]
        assert await shares(a, [old, new]) == [10.0, 90.0]
        # both replicas settle the due step at once; it is written once and both show it
        a.clock.advance(seconds=600)
        await asyncio.gather(rollout(a), rollout(b))
        seen = [await rollout(a), await rollout(b)]
        assert [(r or {}).get("state") for r in seen] == ["PROMOTED", "PROMOTED"]
        assert len(await trail(b, old, "ROLLOUT_PROMOTED")) == 1
        assert await shares(b, [old, new]) == [100.0, 0.0]


async def test_pausing_the_canary_stops_its_rollout(api: Api) -> None:
    old, new = await versions(api, 2)
    spec = {"strategy": "CANARY", "percent": 10, "bakeSeconds": 600}
    assert (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]["errors"] == []
    assert (await api.query(PAUSE, {"id": old}))["pauseDeployment"]["errors"] == []
    stopped = await rollout(api)
    assert stopped is not None
    assert (stopped["state"], stopped["reason"]) == (
        "ROLLED_BACK",
        "Stopped by anonymous: the version was paused",
    )
    api.clock.advance(seconds=900)
    assert await shares(api, [old, new]) == [0.0, 100.0]


async def test_a_split_racing_a_due_step_from_another_app_one_after_the_other(tmp_path: Path) -> None:
    async with two_apps(tmp_path) as (a, b):
        old, new = await versions(a, 2)
        spec = {"strategy": "CANARY", "percent": 10, "bakeSeconds": 600}
        assert (await a.query(START, {"id": old, "rollout": spec}))["startRollout"]["errors"] == []
        a.clock.advance(seconds=600)
        # when: one app sets the split by hand as the other settles the promotion that is due
        halves = [{"deploymentId": old, "percent": 50}, {"deploymentId": new, "percent": 50}]
        done = await asyncio.gather(a.query(SET, {"model": "ranker", "shares": halves}), rollout(b))
        # then: the two were serialised: the split set last stands, and the rollout ended one way only
        assert done[0]["setTrafficSplit"]["errors"] == []
        assert await shares(b, [old, new]) == [50.0, 50.0]
        state = (await rollout(b) or {})["state"]
        ends = await trail(b, old, "ROLLOUT_PROMOTED", "ROLLED_BACK")
        assert state in ("PROMOTED", "ROLLED_BACK") and [e[0] for e in ends] == [
            "ROLLOUT_PROMOTED" if state == "PROMOTED" else "ROLLED_BACK"
        ]


async def test_a_canary_of_a_model_with_no_other_active_version_is_promoted_at_once(tmp_path: Path) -> None:
    async with running_api(tmp_path, rollout_seconds=30) as api:
        spec = {"strategy": "LINEAR", "percent": 25, "bakeSeconds": 60}
        payload = (await api.query(DEPLOY, {"job": await _job(api, "solo"), "rollout": spec}))["deployJob"]
        only = payload["deployment"]["id"]
        assert rollout_succeeds(only), "the simulator fails this id's rollout (simulator.rollout_fails)"
        # while the version deploys, its rollout waits for the activation: its first step is then
        waiting = await rollout(api, "solo")
        assert waiting is not None and (waiting["state"], waiting["percent"]) == ("BAKING", 0.0)
        assert waiting["nextStepAt"] == (api.clock.now + timedelta(seconds=30)).isoformat()
        api.clock.advance(seconds=30)
        done = await rollout(api, "solo")
        assert done is not None
        assert (done["state"], done["percent"], done["nextStepAt"]) == ("PROMOTED", 100.0, None)
        assert await shares(api, [only]) == [100.0]
        kinds = [e[0] for e in await trail(api, only, "ROLLOUT_STARTED", "ROLLOUT_PROMOTED")]
        assert kinds == ["ROLLOUT_STARTED", "ROLLOUT_PROMOTED"]


async def test_start_rollout_all_at_once_gives_a_standby_all_the_traffic_in_one_move(api: Api) -> None:
    old, new = await versions(api, 2)
    payload = (await api.query(START, {"id": old, "rollout": {"strategy": "ALL_AT_ONCE"}}))["startRollout"]
    assert payload == {"model": {"rollout": {"state": "PROMOTED", "percent": 100.0}}, "errors": []}
    assert await shares(api, [old, new]) == [100.0, 0.0]
    assert await trail(api, old, "ROLLOUT_STARTED", "TRAFFIC_CHANGED", "ROLLOUT_PROMOTED") == [
        ("TRAFFIC_CHANGED", "system", "Traffic 0 % → 100 %: v1.0.0 activated"),
        ("TRAFFIC_CHANGED", "system", "Traffic 100 % → 0 %: v1.1.0 activated"),
        ("ROLLOUT_STARTED", "anonymous", "Rollout of v1.0.0: all the traffic at once"),
        ("TRAFFIC_CHANGED", "anonymous", "Traffic 0 % → 100 %: v1.0.0 promoted"),
        ("ROLLOUT_PROMOTED", "anonymous", "v1.0.0 promoted at once: all at once"),
    ]


async def test_a_linear_rollout_gains_its_steps_from_the_share_the_version_already_had(api: Api) -> None:
    # given: two versions split 40 / 60
    old, new = await versions(api, 2)
    split = [{"deploymentId": old, "percent": 40}, {"deploymentId": new, "percent": 60}]
    assert (await api.query(SET, {"model": "ranker", "shares": split}))["setTrafficSplit"]["errors"] == []
    assert await holds_at(api, old, api.clock.now, 65, [60, 120]), "the simulator makes this id CRITICAL"
    # when: the 40 % version is rolled out by 25 % a minute
    spec = {"strategy": "LINEAR", "percent": 25, "bakeSeconds": 60}
    payload = (await api.query(START, {"id": old, "rollout": spec}))["startRollout"]
    # then: its first step takes it from 40 % to 65 %, not down to 25 %, and on to all of it
    assert payload == {"model": {"rollout": {"state": "BAKING", "percent": 65.0}}, "errors": []}
    assert await shares(api, [old, new]) == [65.0, 35.0]
    api.clock.advance(seconds=60)
    assert await shares(api, [old, new]) == [90.0, 10.0]
    api.clock.advance(seconds=60)
    assert await shares(api, [old, new]) == [100.0, 0.0]
    assert (await rollout(api) or {})["state"] == "PROMOTED"
