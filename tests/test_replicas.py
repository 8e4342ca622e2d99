"""Two server processes on one database behave as one service (PostgreSQL in the PostgreSQL run)."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from db import demo
from tests.databases import database_for_sync, query_rows
from tests.process import live_server, servers_started_together
from tests.test_api_mutations import DEPLOY, PAUSE
from tests.test_api_split import ROLLBACK
from tests.test_api_split import SET as SET_SPLIT

TOKEN = "replica-test-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def post(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables or {}}, headers=HEADERS, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def test_two_replicas_on_one_database(tmp_path: Path) -> None:
    env = {"DEPLOYDECK_TOKENS": f"ci={TOKEN}"}
    db = database_for_sync(tmp_path, "replicas")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    flags = ("--db", db, "--rollout-seconds", "0")
    with (
        live_server(tmp_path / "a", *flags, env=env) as a,
        live_server(tmp_path / "b", *flags, "--no-demo", env=env) as b,
    ):
        job = post(a, "{ trainingJobs(first: 1, filter: {deployable: true}) { nodes { id modelName } } }")
        job_id = job["trainingJobs"]["nodes"][0]["id"]
        before = post(
            b,
            "query($j: ID!) { trainingJob(id: $j) { deployments(first: 100) { totalCount } } }",
            {"j": job_id},
        )

        # when: 24 deploys of one model at once, spread over both replicas
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda i: post(a if i % 2 else b, DEPLOY, {"job": job_id}), range(24)))
        # then: no repeated version, and both replicas count them all
        versions = [r["deployJob"]["deployment"]["version"] for r in results]
        assert all(not r["deployJob"]["errors"] for r in results)
        assert len(set(versions)) == 24
        count = "query($j: ID!) { trainingJob(id: $j) { deployments(first: 100) { totalCount } } }"
        total = before["trainingJob"]["deployments"]["totalCount"] + 24
        assert post(a, count, {"j": job_id})["trainingJob"]["deployments"]["totalCount"] == total
        assert post(b, count, {"j": job_id})["trainingJob"]["deployments"]["totalCount"] == total

        # a pause through one is seen by the other's next request, also in its fleet snapshot
        active = post(a, "{ deployments(first: 1, filter: {status: [ACTIVE]}) { nodes { id } } }")
        dep = active["deployments"]["nodes"][0]["id"]
        paused_query = """{ deployments(first: 100, filter: {status: [PAUSED]},
            orderBy: [{field: P95_LATENCY, direction: DESC}]) { totalCount nodes { id } } }"""
        paused_before = post(b, paused_query)["deployments"]["totalCount"]
        assert post(a, PAUSE, {"id": dep})["pauseDeployment"]["errors"] == []
        seen = post(b, paused_query)["deployments"]
        assert seen["totalCount"] == paused_before + 1
        assert dep in {n["id"] for n in seen["nodes"]}
        assert (
            post(b, "query($id: ID!) { deployment(id: $id) { status } }", {"id": dep})["deployment"]["status"]
            == "PAUSED"
        )

        # the same query with the same asOf gives identical figures on both
        as_of = post(a, "{ serverTime }")["serverTime"]
        same = """query($t: DateTime) { deploymentStats(asOf: $t) { totalRequestVolume p95Latency errorRate }
            deployments(first: 20, asOf: $t, orderBy: [{field: P95_LATENCY}]) {
            nodes { id metrics(asOf: $t) { requestVolume p50Latency p95Latency p99Latency errorRate } health } } }"""
        assert post(a, same, {"t": as_of}) == post(b, same, {"t": as_of})


def test_three_replicas_started_together_on_an_empty_database_load_the_demo_once(tmp_path: Path) -> None:
    db = database_for_sync(tmp_path, "together")
    # default flags: migrate and demo on; all three race for the empty database
    with servers_started_together(tmp_path, db, 3, "--rollout-seconds", "0") as servers:
        for server in servers:
            assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
        counts = [
            httpx.post(
                server.graphql_url,
                json={"query": "{ deployments(first: 1) { totalCount } trainingJobs { totalCount } }"},
                timeout=30,
            ).json()["data"]
            for server in servers
        ]
        # one demo, seen alike by every replica
        size = demo.size()
        assert (
            counts
            == [
                {
                    "deployments": {"totalCount": size.deployments - size.deleted},
                    "trainingJobs": {"totalCount": size.training_jobs},
                }
            ]
            * 3
        )
        assert query_rows(db, "SELECT count(*) FROM deployments") == [(size.deployments,)]
        assert query_rows(db, "SELECT count(*) FROM fleet_state") == [(1,)]


@contextmanager
def write_lock_held(db: str) -> Iterator[None]:
    """A third client holds what every deployment write needs: SQLite's write lock, or the
    fleet_state row on PostgreSQL (in a thread of its own, as asyncpg is asynchronous)."""
    if "://" not in db:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    taken, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(
            make_url(db).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            async with conn.transaction():
                await conn.execute("SELECT revision FROM fleet_state FOR UPDATE")
                taken.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    try:
        assert taken.wait(10), "the lock holder did not start"
        yield
    finally:
        release.set()
        thread.join()


def test_reads_on_two_replicas_do_not_wait_for_a_due_rollout(tmp_path: Path) -> None:
    env = {"DEPLOYDECK_TOKENS": f"ci={TOKEN}"}
    db = database_for_sync(tmp_path, "replicas")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    flags = ("--db", db, "--rollout-seconds", "1")
    with (
        live_server(tmp_path / "a", *flags, env=env) as a,
        live_server(tmp_path / "b", *flags, "--no-demo", env=env) as b,
    ):
        job = post(a, "{ trainingJobs(first: 1, filter: {deployable: true}) { nodes { id } } }")
        job_id = job["trainingJobs"]["nodes"][0]["id"]
        dep = post(a, DEPLOY, {"job": job_id})["deployJob"]["deployment"]["id"]
        status = "query($id: ID!) { serverTime deployment(id: $id) { status } }"
        with write_lock_held(db):
            # when: plain reads on both replicas while the rollout comes due and cannot be written
            slowest, statuses = 0.0, set()
            deadline = time.monotonic() + 2  # the rollout is due after 1 s
            while time.monotonic() < deadline:
                for base in (a, b):
                    started = time.monotonic()
                    statuses.add(post(base, status, {"id": dep})["deployment"]["status"])
                    slowest = max(slowest, time.monotonic() - started)
            # then: none waited for the lock (before this fix: 5 s and more, the busy timeout)
            assert slowest < 1.0, slowest
            assert statuses == {"DEPLOYING"}  # the committed state
        # and once it frees, the rollout is written (once) and both replicas show it
        for base in (a, b):
            deadline = time.monotonic() + 10
            while post(base, status, {"id": dep})["deployment"]["status"] == "DEPLOYING":
                assert time.monotonic() < deadline, "the due rollout was never written"
                time.sleep(0.05)
        events = "query($id: ID!) { deployment(id: $id) { status events { kind } } }"
        trail = post(b, events, {"id": dep})["deployment"]
        # (an activated version takes its model's traffic in the same transaction: issue 15)
        assert [e["kind"] for e in trail["events"]] in (
            ["CREATED", "ACTIVATED", "TRAFFIC_CHANGED"],
            ["CREATED", "FAILED"],
        )


ACTIVE_VERSIONS = """{ models(first: 50) { nodes { name
    deployments(first: 50, filter: {status: [ACTIVE]}) { nodes { id aliases } } } } }"""
MODEL_SPLIT = """query($model: String!) { model(name: $model) {
    trafficSplit { percent deployment { id status } }
    deployments(first: 50) { nodes { id status trafficPercent } } } }"""


def test_splits_pauses_and_rollbacks_racing_across_two_replicas_keep_one_split(tmp_path: Path) -> None:
    """Issue 15: two racing moves on one model cannot both win, also when two processes make them."""
    env = {"DEPLOYDECK_TOKENS": f"ci={TOKEN}"}
    db = database_for_sync(tmp_path, "split-race")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        live_server(tmp_path / "a", "--db", db, env=env) as a,
        live_server(tmp_path / "b", "--db", db, "--no-demo", env=env) as b,
    ):
        # given: a demo model with at least three ACTIVE versions, two of them without an alias
        models = post(a, ACTIVE_VERSIONS)["models"]["nodes"]
        model = next(m for m in models if len(m["deployments"]["nodes"]) >= 3)
        name, deps = model["name"], [d["id"] for d in model["deployments"]["nodes"]]
        free = [d["id"] for d in model["deployments"]["nodes"] if not d["aliases"]][:2]
        assert len(free) == 2
        percents = [(100, 0, 0), (10, 20, 70), (0, 50, 50), (34, 33, 33), (90, 5, 5), (1, 1, 98)]
        moves = [
            (
                SET_SPLIT,
                {
                    "model": name,
                    "shares": [{"deploymentId": d, "percent": p} for d, p in zip(deps[:3], ps, strict=True)],
                },
            )
            for ps in percents
        ]
        moves += [(PAUSE, {"id": d}) for d in free] + [(ROLLBACK, {"model": name})] * 2

        # when: they all race, spread over both replicas (each answer's one field is its payload)
        with ThreadPoolExecutor(max_workers=len(moves)) as pool:
            done = list(
                pool.map(lambda i: next(iter(post(a if i % 2 else b, *moves[i]).values())), range(len(moves)))
            )

        # then: a pause always wins; a split or rollback wins or, naming a version a racing pause
        # already took, is INVALID_SPLIT; both replicas see one split that sums to 100 among the
        # ACTIVE versions, with nothing on the others
        codes = [[e["code"] for e in r["errors"]] for r in done]
        splits, pauses, rollbacks = codes[: len(percents)], codes[len(percents) : -2], codes[-2:]
        assert all(c in ([], ["INVALID_SPLIT"]) for c in splits + rollbacks), codes
        assert pauses == [[], []], codes
        seen = [post(server, MODEL_SPLIT, {"model": name})["model"] for server in (a, b)]
        assert seen[0] == seen[1]
        versions = seen[0]["deployments"]["nodes"]
        active = [v["trafficPercent"] for v in versions if v["status"] == "ACTIVE"]
        assert active and abs(sum(active) - 100) < 0.01
        assert all(v["trafficPercent"] == 0 for v in versions if v["status"] != "ACTIVE")
        assert abs(sum(s["percent"] for s in seen[0]["trafficSplit"]) - 100) < 0.01
