"""Demo data worth exploring: about 15 models, 80+ deployments in every status, weeks of history.

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
from db.models import Deployment, DeploymentEvent, TrainingJob
from domain import NOT_MOVES
from tests.databases import database_for
from tests.support import T0, Api, Clock, running_api

DEPLOYMENT_FIELDS = (
    "id modelName version status modelSize createdAt updatedAt endpoint trafficPercent events { kind at }"
)
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

        # about 15 models, each deployed several times; at least 80 deployments, in every status
        assert 13 <= len(by_model) <= 17, sorted(by_model)
        assert len(deployments) >= 80
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


async def test_demo_is_loaded_only_into_an_empty_database(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        first = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    async with running_api(tmp_path, demo=True) as api:
        again = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    assert first == again == demo.size().training_jobs
