"""deploymentStats(asOf) describes the fleet as it was at asOf: the deployments that existed then, with
the statuses the audit trail gives them then (as statusAt does), and their health then."""

from collections import Counter
from datetime import datetime
from typing import Any

from resolvers import ids
from tests.support import Api, make_job, rollout_succeeds

DEPLOY = """mutation($job: ID!) { deployJob(input: {jobId: $job}) { deployment { id } errors { code } } }"""
PAUSE = """mutation($id: ID!) { pauseDeployment(input: {id: $id}) { deployment { id } errors { code } } }"""
RESUME = """mutation($id: ID!) { resumeDeployment(input: {id: $id}) { deployment { id } errors { code } } }"""
DELETE = """mutation($id: ID!) { deleteDeployment(input: {id: $id}) { deletedId errors { code } } }"""
STATS = """query($at: DateTime) { deploymentStats(asOf: $at) {
  total byStatus { status count } byHealth { health count } } }"""
FLEET = """query($at: DateTime!) { deployments(first: 100, asOf: $at) {
  nodes { id status statusAt(asOf: $at) health(asOf: $at) } } }"""
NOW = """{ deployments(first: 100) { nodes { id status health } } }"""


async def deploy(api: Api, job_id: str) -> str:
    payload = (await api.query(DEPLOY, {"job": job_id}))["deployJob"]
    assert payload["errors"] == []
    dep: str = payload["deployment"]["id"]
    assert rollout_succeeds(dep), "the simulator fails this id's rollout (simulator.rollout_fails)"
    api.clock.advance(seconds=1)
    await api.query(STATS)  # the rollout (0 s) is settled by the next request
    return dep


async def move(api: Api, mutation: str, dep: str) -> None:
    body = await api.query(mutation, {"id": dep})
    assert next(iter(body.values()))["errors"] == []
    api.clock.advance(seconds=1)


def counts(stats: dict[str, Any]) -> tuple[int, dict[str, int], dict[str, int]]:
    """total, byStatus and byHealth without the zero entries."""
    by_status = {s["status"]: s["count"] for s in stats["byStatus"] if s["count"]}
    by_health = {h["health"]: h["count"] for h in stats["byHealth"] if h["count"]}
    return stats["total"], by_status, by_health


async def stats_at(api: Api, at: datetime | None) -> tuple[int, dict[str, int], dict[str, int]]:
    data = await api.query(STATS, {"at": at.isoformat() if at is not None else None})
    return counts(data["deploymentStats"])


async def fleet_at(api: Api, at: datetime) -> tuple[int, dict[str, int], dict[str, int]]:
    """What deployments(asOf) and each node's statusAt / health at that instant say, counted."""
    nodes = (await api.query(FLEET, {"at": at.isoformat()}))["deployments"]["nodes"]
    existing = [n for n in nodes if n["statusAt"] is not None]
    return (
        len(existing),
        dict(Counter(n["statusAt"] for n in existing)),
        dict(Counter(n["health"] for n in existing)),
    )


async def test_stats_at_a_past_instant_count_the_fleet_as_it_was_then(api: Api) -> None:
    # given: an empty fleet at `empty`, then two versions of a model, the first paused at `past`
    empty = api.clock.now
    api.clock.advance(minutes=5)
    async with api.db.write() as s:
        job = make_job(s, model_name="ranker")
    job_id = ids.encode("TrainingJob", job.id)
    v0 = await deploy(api, job_id)
    api.clock.advance(minutes=10)
    v1 = await deploy(api, job_id)
    doomed = await deploy(api, job_id)  # live at `past`, deleted later
    api.clock.advance(minutes=10)
    await move(api, PAUSE, v0)
    await move(api, PAUSE, doomed)
    api.clock.advance(minutes=10)
    past = api.clock.now
    # and after `past`: v0 resumed, v1 paused, a third version deployed, `doomed` deleted
    api.clock.advance(minutes=10)
    await move(api, RESUME, v0)
    await move(api, PAUSE, v1)
    v2 = await deploy(api, job_id)
    await move(api, DELETE, doomed)
    api.clock.advance(minutes=10)

    # when / then: at `past`, the stats agree with deployments(asOf) and each node's statusAt and health
    total, by_status, by_health = await stats_at(api, past)
    assert (total, by_status, by_health) == await fleet_at(api, past)
    assert sum(by_health.values()) == total
    # which are v0 PAUSED and v1 ACTIVE (v2 did not exist yet; `doomed` is gone, as from deployments)
    assert (total, by_status) == (2, {"PAUSED": 1, "ACTIVE": 1})
    states = {
        n["id"]: n["statusAt"]
        for n in (await api.query(FLEET, {"at": past.isoformat()}))["deployments"]["nodes"]
    }
    assert states == {v0: "PAUSED", v1: "ACTIVE", v2: None}
    # and before the first deployment, the fleet was empty
    assert await stats_at(api, empty) == (0, {}, {}) == await fleet_at(api, empty)

    # and without asOf the stats are today's fleet, with the current statuses and health
    total, by_status, by_health = await stats_at(api, None)
    nodes = (await api.query(NOW))["deployments"]["nodes"]
    assert total == len(nodes) == 3
    assert by_status == dict(Counter(n["status"] for n in nodes)) == {"ACTIVE": 2, "PAUSED": 1}
    assert by_health == dict(Counter(n["health"] for n in nodes))
    # and an asOf of now says the same
    assert await stats_at(api, api.clock.now) == (total, by_status, by_health)
