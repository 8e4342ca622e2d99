"""Two server processes on one database behave as one service (PostgreSQL in the PostgreSQL run)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from db import demo
from tests.databases import database_for_sync, query_rows
from tests.live import live_server
from tests.process import servers_started_together
from tests.test_api_mutations import DEPLOY, PAUSE

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


def test_two_replicas_on_one_database(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DEPLOYDECK_TOKENS", f"ci={TOKEN}")
    db = database_for_sync(tmp_path, "replicas")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    flags = ("--db", db, "--rollout-seconds", "0")
    with live_server(tmp_path / "a", *flags) as a, live_server(tmp_path / "b", *flags, "--no-demo") as b:
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
