"""Demo data worth exploring: about 18 models, 90+ deployments in every status, weeks of history.

Read through the GraphQL API, as a user exploring it would.
"""

import itertools
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db import demo
from db.models import Deployment, DeploymentEvent, ModelAlias, Rollout, TrainingJob
from domain import NOT_MOVES
from tests.databases import database_for
from tests.support import T0, Api, Clock, running_api

DEPLOYMENT_FIELDS = (
    "id modelName version status modelSize createdAt updatedAt endpoint trafficPercent events { kind at }"
)
TEAM = {"maya.chen", "lars.olsen", "priya.nair", "tom.becker", "ana.souza", "kenji.watanabe", "ci-pipeline"}
JOB_FIELDS = "id modelName status deployable createdAt completedAt deployments(first: 0) { totalCount }"


async def every_node(api: Api, field: str, selection: str, arguments: str = "") -> list[dict[str, Any]]:
    """All nodes of a connection, paged 100 at a time."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        data = await api.query(
            f"query($after: String) {{ {field}(first: 100, after: $after {arguments}) "
            f"{{ pageInfo {{ hasNextPage endCursor }} nodes {{ {selection} }} }} }}",
            {"after": after},
        )
        nodes += data[field]["nodes"]
        if not data[field]["pageInfo"]["hasNextPage"]:
            return nodes
        after = data[field]["pageInfo"]["endCursor"]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def minor(version: str) -> int:
    return int(version.split(".")[1])


async def test_the_demo_fleet_is_big_and_varied_enough_to_page_sort_and_chart(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        deployments = await every_node(api, "deployments", DEPLOYMENT_FIELDS)
        jobs = await every_node(api, "trainingJobs", JOB_FIELDS)
        by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for dep in deployments:
            by_model[dep["modelName"]].append(dep)

        # about 18 models, each deployed several times; at least 90 deployments, in every status
        assert 16 <= len(by_model) <= 20, sorted(by_model)
        assert 90 <= len(deployments) <= 150
        assert all(len(deps) >= 3 for deps in by_model.values()), {m: len(d) for m, d in by_model.items()}
        assert {d["status"] for d in deployments} == {"DEPLOYING", "ACTIVE", "PAUSED", "FAILED"}
        assert {d["modelSize"] for d in deployments} == {"NANO", "SMALL", "LARGE"}
        # realistic names, endpoints that name model and version
        for dep in deployments:
            assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", dep["modelName"]), dep
            assert dep["endpoint"].endswith(f"/{dep['modelName']}/{dep['version']}"), dep

        # versions were created in version order: v1.2.0 is newer than v1.1.0
        for deps in by_model.values():
            by_time = sorted(deps, key=lambda d: at(d["createdAt"]))
            assert [minor(d["version"]) for d in by_time] == sorted(minor(d["version"]) for d in deps), (
                by_time
            )
        # some versions were deleted, and stay used: a gap in a model's versions
        gaps = [m for m, deps in by_model.items() if max(minor(d["version"]) for d in deps) + 1 > len(deps)]
        assert gaps, "no model has a deleted version"

        # at least 8 deployments of every size have served untouched for more than a week
        week_ago = T0 - timedelta(days=7)
        untouched = Counter(
            d["modelSize"]
            for d in deployments
            if d["status"] == "ACTIVE"
            and at(d["updatedAt"]) < week_ago
            and at(d["events"][-1]["at"]) < week_ago
        )
        assert all(untouched[size] >= 8 for size in ("NANO", "SMALL", "LARGE")), untouched

        # training jobs to match: every status, runs going on, finished jobs not deployed yet
        assert {j["status"] for j in jobs} == {"QUEUED", "RUNNING", "COMPLETE", "FAILED", "CANCELLED"}
        assert {j["modelName"] for j in jobs} == set(by_model)
        ready = [j for j in jobs if j["deployable"] and j["deployments"]["totalCount"] == 0]
        assert len(ready) >= 3, ready
        assert all(j["status"] == "COMPLETE" and j["completedAt"] for j in ready)

        # the table pages, and its sorts disagree with each other
        orders = {}
        for field in ("CREATED_AT", "MODEL_NAME", "REQUEST_VOLUME", "P95_LATENCY", "ERROR_RATE"):
            page = (
                await api.query(
                    "query($o: [DeploymentOrder!]) { deployments(first: 20, orderBy: $o) "
                    "{ totalCount pageInfo { hasNextPage } nodes { id } } }",
                    {"o": [{"field": field, "direction": "DESC"}]},
                )
            )["deployments"]
            assert page["pageInfo"]["hasNextPage"] and page["totalCount"] == len(deployments)
            orders[field] = [n["id"] for n in page["nodes"]]
        assert len({tuple(ids) for ids in orders.values()}) == len(orders), orders

        # a week-long chart of a version that has carried its model's traffic all week has traffic
        # throughout (standbys at 0 % have none: issue 15)
        oldest = min(
            (
                d
                for d in deployments
                if d["status"] == "ACTIVE"
                and d["trafficPercent"] > 0
                and at(d["events"][-1]["at"]) < week_ago
            ),
            key=lambda d: at(d["createdAt"]),
        )
        chart = (
            await api.query(
                "query($id: ID!) { deployment(id: $id) { metricsHistory(range: LAST_7_DAYS) "
                "{ points { requestVolume } } } }",
                {"id": oldest["id"]},
            )
        )["deployment"]["metricsHistory"]["points"]
        assert len(chart) == 7 * 24
        assert sum(p["requestVolume"] > 0 for p in chart) >= 0.9 * len(chart)


async def test_the_demo_has_the_same_shape_whenever_it_is_loaded(tmp_path: Path) -> None:
    async def shape(clock: Clock, stem: str) -> set[tuple[Any, ...]]:
        async with running_api(
            tmp_path, clock=clock, demo=True, db=await database_for(tmp_path, stem)
        ) as api:
            deps = await every_node(api, "deployments", "modelName version status createdAt")
            jobs = await every_node(api, "trainingJobs", "modelName status createdAt")
        return {(d["modelName"], d["version"], d["status"], at(d["createdAt"]) - clock.now) for d in deps} | {
            (j["modelName"], j["status"], at(j["createdAt"]) - clock.now) for j in jobs
        }

    first = await shape(Clock(T0), "a")
    assert first == await shape(Clock(T0 + timedelta(days=9, minutes=17)), "b")
    jobs, deployments, deleted = demo.size()
    assert len(first) == jobs + deployments - deleted


async def test_demo_data_covers_every_status_with_consistent_audit_trails(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        async with api.db.read() as s:
            jobs = (await s.scalars(select(TrainingJob))).all()
            deps = (await s.scalars(select(Deployment))).all()
            events = (
                await s.scalars(select(DeploymentEvent).order_by(DeploymentEvent.at, DeploymentEvent.id))
            ).all()
        assert (len(jobs), len(deps)) == demo.size()[:2]
        for job in jobs:
            assert (job.final_loss is not None) == (job.status == "COMPLETE")
            assert (job.started_at is None) == (job.status == "QUEUED")
            assert 0 <= job.progress <= 1
            if job.completed_at is not None:
                assert job.created_at <= job.started_at <= job.completed_at <= api.clock.now  # type: ignore[operator]
        assert len({(d.model_name, d.version) for d in deps}) == len(deps)
        jobs_by_id = {j.id: j for j in jobs}
        # each trail starts with CREATED and its last status change matches the deployment
        for dep in deps:
            job = jobs_by_id[dep.training_job_id]
            assert job.status == "COMPLETE" and job.completed_at < dep.created_at  # type: ignore[operator]
            trail = [e for e in events if e.deployment_id == dep.id]
            assert trail[0].kind == "CREATED"
            assert all(e.at <= api.clock.now for e in trail)
            changes = [e for e in trail if e.to_status is not None]
            assert changes[-1].to_status == dep.status
            for before, after in itertools.pairwise(changes):
                assert after.from_status == before.to_status
            assert (trail[-1].kind == "DELETED") == (dep.deleted_at is not None)
            moves = [e for e in trail if e.kind not in NOT_MOVES]  # traffic events keep the status
            assert dep.updated_at == moves[-1].at
            # every other event keeps the status it found; each traffic change starts where the last
            # one ended, says "from → to", and the last one is the stored share
            status, share = None, 0.0
            for event in trail:
                assert event.actor in TEAM | {"system"}, event.actor
                if event.kind in NOT_MOVES:
                    assert event.from_status == event.to_status == status, (dep.model_name, event.kind)
                else:
                    status = event.to_status or status
                if event.kind == "TRAFFIC_CHANGED":
                    assert event.traffic_from == share and event.message, (dep.model_name, dep.version)
                    assert event.message.startswith(f"Traffic {share:g} % → {event.traffic_to:g} %: ")
                    share = event.traffic_to  # type: ignore[assignment]
            assert share == dep.traffic_percent, (dep.model_name, dep.version)
        # the aliases are where their last events put them; the rollouts' rows match their events
        async with api.db.read() as s:
            aliases = (await s.scalars(select(ModelAlias))).all()
            rollouts = (await s.scalars(select(Rollout))).all()
        for alias in aliases:
            (last,) = [
                e
                for e in events
                if e.kind == "ALIAS_SET"
                and e.message.startswith(f"Alias {alias.alias} ")  # type: ignore[union-attr]
                and e.deployment_id in {d.id for d in deps if d.model_name == alias.model_name}
            ][-1:]
            assert (last.deployment_id, last.at, last.actor) == (
                alias.deployment_id,
                alias.updated_at,
                alias.updated_by,
            )
        assert sorted(r.state for r in rollouts) == ["BAKING", "ROLLED_BACK"]
        for rollout in rollouts:
            started = [
                e for e in events if e.kind == "ROLLOUT_STARTED" and e.deployment_id == rollout.deployment_id
            ]
            assert [(e.at, e.actor) for e in started] == [(rollout.started_at, rollout.actor)]
            assert (rollout.next_step_at is None) == (rollout.state == "ROLLED_BACK")


async def test_demo_is_loaded_only_into_an_empty_database(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        first = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    async with running_api(tmp_path, demo=True) as api:
        again = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    assert first == again == demo.size().training_jobs


RELEASE_DEPLOYMENT = "id modelName modelSize version status trafficPercent events { kind at actor message }"
RELEASE_MODELS = """{ models(first: 50) { totalCount nodes {
  name
  trafficSplit { percent deployment { id version status health healthReasons } }
  aliases { name updatedBy deployment { id version } }
  rollout { state strategy percent reason startedAt nextStepAt deployment { id version } }
} } }"""


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.lstrip("v").split("."))


async def test_the_demo_shows_standbys_splits_a_baking_canary_a_recent_rollback_and_aliases(
    tmp_path: Path,
) -> None:
    # given: a freshly loaded demo
    async with running_api(tmp_path, demo=True, rate_limit_capacity=0) as api:
        now = api.clock.now
        # when: a user looks at every version and every model
        deployments = await every_node(api, "deployments", RELEASE_DEPLOYMENT)
        models = (await api.query(RELEASE_MODELS))["models"]["nodes"]
    by_id = {d["id"]: d for d in deployments}
    active: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in deployments:
        if d["status"] == "ACTIVE":
            active[d["modelName"]].append(d)
    # then: each model's ACTIVE shares sum to 100, and its split says the same
    for model in models:
        mine = active[model["name"]]
        assert mine and abs(sum(d["trafficPercent"] for d in mine) - 100.0) < 1e-6, model["name"]
        split = {s["deployment"]["id"]: s["percent"] for s in model["trafficSplit"]}
        assert split == {d["id"]: d["trafficPercent"] for d in mine}, model["name"]

    # several models whose newest ACTIVE version has all the traffic, with older ACTIVE standbys at 0 %
    standing_by = []
    for model in models:
        split = sorted(model["trafficSplit"], key=lambda s: version_key(s["deployment"]["version"]))
        standbys = [s["deployment"] for s in split if s["percent"] == 0.0]
        if split[-1]["percent"] == 100.0 and standbys:
            assert all(d["healthReasons"] == ["standby: 0 % of model traffic"] for d in standbys), standbys
            assert all(d["health"] == "NO_TRAFFIC" for d in standbys), standbys
            standing_by.append(model["name"])
    assert len(standing_by) >= 3, standing_by

    # models whose traffic has been split between 2-3 versions for more than a week, untouched since:
    # at least 8 traffic-carrying versions of every size
    week_ago = now - timedelta(days=7)
    carrying = [
        d
        for d in deployments
        if d["status"] == "ACTIVE" and d["trafficPercent"] > 0 and at(d["events"][-1]["at"]) < week_ago
    ]
    assert all(Counter(d["modelSize"] for d in carrying)[size] >= 8 for size in ("NANO", "SMALL", "LARGE"))
    split_models = {m: n for m, n in Counter(d["modelName"] for d in carrying).items() if n >= 2}
    assert len(split_models) >= 6 and set(split_models.values()) == {2, 3}, split_models
    for d in carrying:
        if d["modelName"] in split_models:
            (setting,) = [e for e in d["events"] if e["message"] and "split set" in e["message"]]
            assert setting["kind"] == "TRAFFIC_CHANGED" and setting["actor"] in TEAM, setting
            assert at(setting["at"]) > now - timedelta(days=16), setting

    # one CANARY rollout, baking right after the load: started minutes ago, its step an hour away
    rollouts = {m["name"]: m["rollout"] for m in models if m["rollout"] is not None}
    baking = [(name, r) for name, r in rollouts.items() if r["state"] == "BAKING"]
    assert len(baking) == 1, rollouts
    name, canary = baking[0]
    assert (canary["strategy"], canary["percent"], canary["reason"]) == ("CANARY", 10.0, None)
    assert now - timedelta(minutes=30) < at(canary["startedAt"]) < now
    assert at(canary["nextStepAt"]) > now + timedelta(minutes=30)
    canary_version = by_id[canary["deployment"]["id"]]
    assert canary_version["trafficPercent"] == 10.0 and canary_version["status"] == "ACTIVE"
    kinds = [e["kind"] for e in canary_version["events"]]
    assert kinds[:2] == ["CREATED", "ROLLOUT_STARTED"] and "TRAFFIC_CHANGED" in kinds, kinds
    others = [d for d in active[name] if d["id"] != canary_version["id"]]
    assert others and all(version_key(canary_version["version"]) > version_key(d["version"]) for d in others)

    # a rollback a couple of hours ago: a user rolled the model back, which stopped its canary
    rolled_back = [(n, r) for n, r in rollouts.items() if r["state"] == "ROLLED_BACK"]
    assert len(rolled_back) == 1, rollouts
    name, rollout = rolled_back[0]
    version = by_id[rollout["deployment"]["id"]]
    (event,) = [e for e in version["events"] if e["kind"] == "ROLLED_BACK"]
    assert now - timedelta(days=1) < at(event["at"]) < now and event["actor"] in TEAM - {"ci-pipeline"}
    assert rollout["reason"] == f"Stopped by {event['actor']}: the model was rolled back"
    assert version["trafficPercent"] == 0.0 and version["events"][-1]["message"].endswith("rolled back")
    assert any(d["trafficPercent"] == 100.0 for d in active[name])

    # production on the version carrying the most traffic, staging on a newer one, on several models
    staged = 0
    for model in models:
        aliases = {a["name"]: a["deployment"] for a in model["aliases"]}
        assert set(aliases) <= {"production", "staging"}, aliases
        if "production" in aliases:
            shares = {s["deployment"]["id"]: s["percent"] for s in model["trafficSplit"]}
            assert shares[aliases["production"]["id"]] == max(shares.values()), model
        if "staging" in aliases:
            assert version_key(aliases["staging"]["version"]) > version_key(aliases["production"]["version"])
            staged += 1
    assert staged >= 3 and sum(bool(m["aliases"]) for m in models) >= 6


async def test_the_demo_canary_holds_through_its_bake_and_is_promoted(tmp_path: Path) -> None:
    # given: the demo's baking canary
    clock = Clock(T0)
    async with running_api(tmp_path, clock, demo=True, rate_limit_capacity=0) as api:
        models = (await api.query(RELEASE_MODELS))["models"]["nodes"]
        (model,) = [m for m in models if m["rollout"] and m["rollout"]["state"] == "BAKING"]
        due = at(model["rollout"]["nextStepAt"])
        query = """query($n: String!) { model(name: $n) { rollout { state percent reason }
          trafficSplit { percent deployment { id } } } }"""
        # when: its step is a second away, then past
        clock.now = due - timedelta(seconds=1)
        before = (await api.query(query, {"n": model["name"]}))["model"]
        clock.now = due + timedelta(seconds=1)
        after = (await api.query(query, {"n": model["name"]}))["model"]
    # then: it baked the whole time, and its health held at the step: promoted to all the traffic
    assert before["rollout"] == {"state": "BAKING", "percent": 10.0, "reason": None}
    assert after["rollout"] == {"state": "PROMOTED", "percent": 100.0, "reason": None}
    shares = {s["deployment"]["id"]: s["percent"] for s in after["trafficSplit"]}
    assert shares[model["rollout"]["deployment"]["id"]] == 100.0
