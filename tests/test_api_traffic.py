"""The traffic split's default moves (issue 15, item 3): activation takes all, the former holders stand
by at 0 %, a share leaving ACTIVE goes to the others, a resumed version comes back at 0 %."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from db.models import Deployment
from resolvers import ids
from tests.support import T0, Api, Clock, make_job, rollout_succeeds, running_api

DEPLOY = """mutation($job: ID!) { deployJob(input: {jobId: $job}) { deployment { id } errors { code } } }"""
PAUSE = """mutation($id: ID!) { pauseDeployment(input: {id: $id}) { deployment { id } errors { code } } }"""
RESUME = """mutation($id: ID!) { resumeDeployment(input: {id: $id}) { deployment { id } errors { code } } }"""
SHARES = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Deployment { id status trafficPercent } } }"""
DETAIL = """query($id: ID!, $at: DateTime!) { deployment(id: $id) {
  status trafficPercent health healthReasons metrics { requestCount }
  before: trafficPercent(asOf: $at) statusAt(asOf: $at)
  events { kind fromStatus toStatus actor message } } }"""


async def versions(api: Api, count: int, model_name: str = "ranker") -> list[str]:
    """`count` ACTIVE versions of one model, deployed one after another (each settled before the next)."""
    async with api.db.write() as s:
        job = make_job(s, model_name=model_name)
    job_id = ids.encode("TrainingJob", job.id)
    out = []
    for _ in range(count):
        payload = (await api.query(DEPLOY, {"job": job_id}))["deployJob"]
        assert payload["errors"] == []
        dep = payload["deployment"]["id"]
        assert rollout_succeeds(dep), "the simulator fails this id's rollout (simulator.rollout_fails)"
        api.clock.advance(seconds=1)
        await api.query(SHARES, {"ids": [dep]})  # the rollout (0 s) is settled by the next request
        out.append(dep)
    return out


async def shares(api: Api, deployments: list[str]) -> list[float]:
    nodes = (await api.query(SHARES, {"ids": deployments}))["nodes"]
    return [n["trafficPercent"] for n in nodes]


async def test_an_activated_version_takes_all_traffic_and_the_former_holder_stands_by(api: Api) -> None:
    # given: v1.0.0 ACTIVE with all of its model's traffic
    (old,) = await versions(api, 1)
    assert await shares(api, [old]) == [100.0]
    before_second = api.clock.now
    api.clock.advance(seconds=1)
    # when: v1.1.0 is deployed and activated
    (new,) = await versions(api, 1)
    api.clock.advance(minutes=3)
    # then: it has all the traffic; v1.0.0 is still ACTIVE, at 0 %, with no traffic and says why
    assert await shares(api, [old, new]) == [0.0, 100.0]
    detail = (await api.query(DETAIL, {"id": old, "at": before_second.isoformat()}))["deployment"]
    assert detail["status"] == "ACTIVE" and detail["trafficPercent"] == 0.0
    assert (detail["health"], detail["healthReasons"]) == ("NO_TRAFFIC", ["standby: 0 % of model traffic"])
    assert detail["metrics"]["requestCount"] == 0
    # and its trail says when and by whom, from and to; the past is as it was
    assert (detail["before"], detail["statusAt"]) == (100.0, "ACTIVE")
    traffic = [e for e in detail["events"] if e["kind"] == "TRAFFIC_CHANGED"]
    assert [(e["fromStatus"], e["toStatus"], e["actor"]) for e in traffic] == [
        ("ACTIVE", "ACTIVE", "system")
    ] * 2
    assert [e["message"] for e in traffic] == [
        "Traffic 0 % → 100 %: v1.0.0 activated",
        "Traffic 100 % → 0 %: v1.1.0 activated",
    ]
    serving = (await api.query(DETAIL, {"id": new, "at": before_second.isoformat()}))["deployment"]
    assert serving["statusAt"] is None and serving["before"] == 0.0  # it did not exist yet
    assert serving["health"] != "NO_TRAFFIC" and serving["metrics"]["requestCount"] > 0


async def test_a_paused_holder_s_share_goes_to_the_newest_standby_and_a_resumed_one_comes_back_at_0(
    api: Api,
) -> None:
    # given: three versions, the newest holding all the traffic
    v0, v1, v2 = await versions(api, 3)
    assert await shares(api, [v0, v1, v2]) == [0.0, 0.0, 100.0]
    # when: the holder is paused, the other two having nothing
    assert (await api.query(PAUSE, {"id": v2}))["pauseDeployment"]["errors"] == []
    # then: the newest ACTIVE one takes it all
    assert await shares(api, [v0, v1, v2]) == [0.0, 100.0, 0.0]
    trail = (await api.query(DETAIL, {"id": v2, "at": T0.isoformat()}))["deployment"]["events"]
    assert [(e["kind"], e["actor"], e["message"]) for e in trail[-2:]] == [
        ("PAUSED", "anonymous", None),
        ("TRAFFIC_CHANGED", "anonymous", "Traffic 100 % → 0 %: v1.2.0 paused"),
    ]
    # when: it is resumed, it comes back as a standby
    assert (await api.query(RESUME, {"id": v2}))["resumeDeployment"]["errors"] == []
    assert await shares(api, [v0, v1, v2]) == [0.0, 100.0, 0.0]
    # and a version resumed as the model's only ACTIVE one takes all of it
    for dep in (v0, v1, v2):
        await api.query(PAUSE, {"id": dep})
    assert await shares(api, [v0, v1, v2]) == [0.0, 0.0, 0.0]
    await api.query(RESUME, {"id": v0})
    assert await shares(api, [v0, v1, v2]) == [100.0, 0.0, 0.0]


async def test_a_share_leaving_active_goes_to_the_others_in_proportion(api: Api) -> None:
    # given: a split of 50 / 30 / 20 (written as setTrafficSplit would)
    deps = await versions(api, 3)
    async with api.db.write() as s:
        for dep, percent in zip(deps, (50.0, 30.0, 20.0), strict=True):
            row_id = ids.decode(dep, "Deployment")
            await s.execute(update(Deployment).where(Deployment.id == row_id).values(traffic_percent=percent))
    # when
    await api.query(PAUSE, {"id": deps[0]})
    # then
    assert await shares(api, deps) == [0.0, 60.0, 40.0]


@asynccontextmanager
async def two_apps(tmp_path: Path) -> AsyncIterator[tuple[Api, Api]]:
    clock = Clock()
    async with running_api(tmp_path, clock) as a, running_api(tmp_path, clock) as b:
        yield a, b


async def _split(api: Api, model_name: str) -> dict[int, tuple[str, float]]:
    async with api.db.read() as s:
        rows = (
            await s.execute(
                select(Deployment.id, Deployment.status, Deployment.traffic_percent).where(
                    Deployment.model_name == model_name, Deployment.deleted_at.is_(None)
                )
            )
        ).all()
    return {i: (status, percent) for i, status, percent in rows}


def _sums_to_100(split: dict[int, tuple[str, float]]) -> bool:
    active = [p for status, p in split.values() if status == "ACTIVE"]
    others = [p for status, p in split.values() if status != "ACTIVE"]
    return (not active or abs(sum(active) - 100.0) < 0.01) and all(p == 0.0 for p in others)


async def test_racing_moves_on_one_model_keep_the_split_summing_to_100(tmp_path: Path) -> None:
    async with two_apps(tmp_path) as (a, b):
        deps = await versions(a, 4)
        async with a.db.write() as s:
            for dep, percent in zip(deps, (10.0, 20.0, 30.0, 40.0), strict=True):
                row_id = ids.decode(dep, "Deployment")
                await s.execute(
                    update(Deployment).where(Deployment.id == row_id).values(traffic_percent=percent)
                )

        async def race(mutation: str, targets: list[str]) -> list[dict[str, Any]]:
            return await asyncio.gather(
                *((a if i % 2 else b).query(mutation, {"id": dep}) for i, dep in enumerate(targets * 2))
            )

        # when: three pauses race (each twice, from both apps); then every resume
        await race(PAUSE, deps[:3])
        after_pauses = await _split(a, "ranker")
        await race(RESUME, deps[:3])
        after_resumes = await _split(a, "ranker")
        await race(PAUSE, deps)
        after_all = await _split(a, "ranker")
    # then: one version holds it all after the pauses; the resumed ones stand by; none is left
    assert _sums_to_100(after_pauses) and _sums_to_100(after_resumes) and _sums_to_100(after_all)
    last = ids.decode(deps[3], "Deployment")
    assert after_pauses[last] == ("ACTIVE", 100.0) == after_resumes[last]
    assert all(percent == 0.0 for _, percent in after_all.values())


async def test_the_past_split_is_rebuilt_from_the_trail(api: Api) -> None:
    # given: v1.0.0 held the traffic, then v1.1.0 took it, then v1.1.0 was paused
    old, new = await versions(api, 2)
    times: list[datetime] = [api.clock.now]
    api.clock.advance(hours=1)
    await api.query(PAUSE, {"id": new})
    times.append(api.clock.now + timedelta(seconds=1))
    api.clock.advance(hours=1)
    # when / then: each instant shows the split in force then
    query = """query($ids: [ID!]!, $a: DateTime, $b: DateTime) { nodes(ids: $ids) { ... on Deployment {
      a: trafficPercent(asOf: $a) b: trafficPercent(asOf: $b) now: trafficPercent } } }"""
    nodes = (
        await api.query(query, {"ids": [old, new], "a": times[0].isoformat(), "b": times[1].isoformat()})
    )["nodes"]
    assert [(n["a"], n["b"], n["now"]) for n in nodes] == [(0.0, 100.0, 100.0), (100.0, 0.0, 0.0)]
