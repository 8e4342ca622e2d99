"""The response cache: repeated polls are answered from memory, and never stale.

A change written behind the cache's back (a raw UPDATE outside any write transaction, so the data
revision does not move) is how these tests tell a hit from an execution: a hit still shows the
old value, an execution the new one.
"""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from db.models import TrainingJob
from settings import parse_settings
from tests.process import live_server
from tests.support import T0, Api, Clock, make_job, running_api
from tests.test_api_mutations import DEPLOY, PAUSE, complete_job, gid
from tests.test_api_split import ROLLBACK
from tests.test_api_split import SET as SET_SPLIT
from tests.test_api_traffic import versions
from tests.test_api_training import CREATE, job_input
from web.graphql_app import GraphQLApp
from web.response_cache import ResponseCache

TOKEN = "cache-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DATASET = "query($id: ID!) { trainingJob(id: $id) { dataset status } }"
FIGURES = "query($id: ID!) { deployment(id: $id) { status metrics { asOf requestVolume } } }"


@asynccontextmanager
async def cached_api(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> AsyncIterator[Api]:
    """tests.support.running_api, with the GraphQL app at hand (`api.graphql`)."""
    async with running_api(tmp_path, clock, **settings) as api:
        app = api.app
        assert app is not None
        api.graphql = next(r.app for r in app.routes if getattr(r, "path", None) == "/graphql")  # type: ignore[attr-defined]
        yield api


def cache(api: Api) -> ResponseCache:
    graphql: GraphQLApp = api.graphql  # type: ignore[attr-defined]
    assert graphql.response_cache is not None
    return graphql.response_cache


def behind_the_cache(db: str, sql: str) -> None:
    """Run a statement outside the server's write transactions: the data revision stays put."""
    if "://" not in db:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            conn.execute(sql)
            conn.commit()
        return

    async def run() -> None:
        conn = await asyncpg.connect(make_url(db).set(drivername="postgresql").render_as_string(False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


async def behind(api: Api, sql: str) -> None:
    await asyncio.to_thread(behind_the_cache, _db_of(api), sql)


def _db_of(api: Api) -> str:
    url = api.db.url
    return url.split("///", 1)[1] if url.startswith("sqlite") else url


async def a_job(api: Api, **overrides: Any) -> tuple[int, str]:
    async with api.db.write() as s:
        job = make_job(s, **overrides)
    return job.id, gid("TrainingJob", job.id)


async def test_a_repeated_query_is_a_hit_that_does_not_execute(tmp_path: Path) -> None:
    async with cached_api(tmp_path) as api:
        row, job = await a_job(api, dataset="first")
        assert (await api.query(DATASET, {"id": job}))["trainingJob"]["dataset"] == "first"
        assert (cache(api).hits, cache(api).misses, len(cache(api))) == (0, 1, 1)
        await behind(api, f"UPDATE training_jobs SET dataset = 'second' WHERE id = {row}")
        # then: answered from memory (no execution would have read 'second')
        assert (await api.query(DATASET, {"id": job}))["trainingJob"]["dataset"] == "first"
        assert (cache(api).hits, cache(api).misses) == (1, 1)
        # other variables, another key: executed
        _, other = await a_job(api, dataset="other")
        assert (await api.query(DATASET, {"id": other}))["trainingJob"]["dataset"] == "other"
        assert cache(api).misses == 2


async def test_without_the_cache_every_request_executes(tmp_path: Path) -> None:
    assert parse_settings(["--no-response-cache"], env={}).response_cache is False
    assert parse_settings([], env={"DEPLOYDECK_RESPONSE_CACHE": "off"}).response_cache is False
    assert parse_settings(["--response-cache-entries", "7"], env={}).response_cache_entries == 7
    async with cached_api(tmp_path, response_cache=False) as api:
        assert api.graphql.response_cache is None  # type: ignore[attr-defined]
        row, job = await a_job(api, dataset="first")
        assert (await api.query(DATASET, {"id": job}))["trainingJob"]["dataset"] == "first"
        await behind(api, f"UPDATE training_jobs SET dataset = 'second' WHERE id = {row}")
        assert (await api.query(DATASET, {"id": job}))["trainingJob"]["dataset"] == "second"


async def test_any_write_invalidates_deployments_and_training_jobs_alike(tmp_path: Path) -> None:
    async with cached_api(tmp_path) as api:
        job = await complete_job(api)
        deployment = (await api.query(DEPLOY, {"job": job}))["deployJob"]["deployment"]
        listing = "{ trainingJobs(first: 50) { totalCount } deployments(first: 5) { nodes { id status } } }"
        await api.query(listing)  # settles the rollout (due at once): kept from the next request on
        before = await api.query(listing)
        assert await api.query(listing) == before and cache(api).hits == 1
        # a training-job write (which does not move the fleet revision) shows at once
        assert (await api.query(CREATE, {"input": job_input()}))["createTrainingJob"]["errors"] == []
        after = await api.query(listing)
        assert after["trainingJobs"]["totalCount"] == before["trainingJobs"]["totalCount"] + 1
        # a deployment write too
        status = "query($id: ID!) { deployment(id: $id) { status } }"
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "ACTIVE"
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "ACTIVE"
        assert (await api.query(PAUSE, {"id": deployment["id"]}))["pauseDeployment"]["errors"] == []
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "PAUSED"


async def test_the_window_rollover_ends_every_entry(tmp_path: Path) -> None:
    clock = Clock(T0 + timedelta(seconds=10))
    async with cached_api(tmp_path, clock) as api:
        deployment = (await api.query(DEPLOY, {"job": await complete_job(api)}))["deployJob"]["deployment"]
        clock.advance(minutes=5)  # serving for a few windows
        await api.query("{ __typename }")  # settles the rollout: from here on nothing is due
        first = await api.query(FIGURES, {"id": deployment["id"]})
        clock.advance(seconds=40)  # the same window
        assert await api.query(FIGURES, {"id": deployment["id"]}) == first and cache(api).hits == 1
        clock.advance(seconds=15)  # the next one
        after = await api.query(FIGURES, {"id": deployment["id"]})
        assert after["deployment"]["metrics"]["asOf"] != first["deployment"]["metrics"]["asOf"]
        assert cache(api).hits == 1


async def test_a_rollout_due_mid_window_is_never_served_as_deploying(tmp_path: Path) -> None:
    async with cached_api(tmp_path, rollout_seconds=20) as api:  # T0 starts a window
        deployment = (await api.query(DEPLOY, {"job": await complete_job(api)}))["deployJob"]["deployment"]
        status = "query($id: ID!) { deployment(id: $id) { status } }"
        api.clock.advance(seconds=5)
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "DEPLOYING"
        api.clock.advance(seconds=5)
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "DEPLOYING"
        assert cache(api).hits == 1
        api.clock.advance(seconds=15)  # due at T0 + 20 s, still in the same window
        assert (await api.query(status, {"id": deployment["id"]}))["deployment"]["status"] == "ACTIVE"


async def test_results_of_the_instant_are_never_kept(tmp_path: Path) -> None:
    async with cached_api(tmp_path, training_time_scale=1) as api:
        first = (await api.query("{ serverTime }"))["serverTime"]
        api.clock.advance(seconds=1)
        assert (await api.query("{ serverTime }"))["serverTime"] != first
        job = (await api.query(CREATE, {"input": job_input()}))["createTrainingJob"]["trainingJob"]
        progress = "query($id: ID!) { trainingJob(id: $id) { status progress } }"
        for _ in range(60):  # queued for a while, then running for minutes
            api.clock.advance(seconds=5)
            running = (await api.query(progress, {"id": job["id"]}))["trainingJob"]
            if running["status"] != "QUEUED":
                break
        assert running["status"] == "RUNNING"
        hits = cache(api).hits
        api.clock.advance(seconds=1)
        later = (await api.query(progress, {"id": job["id"]}))["trainingJob"]
        assert later["status"] == "RUNNING" and later["progress"] > running["progress"]
        assert cache(api).hits == hits


async def test_entries_are_bounded_least_recently_used_first(tmp_path: Path) -> None:
    async with cached_api(tmp_path, response_cache_entries=2) as api:
        queries = [
            "{ baseModels { name } }",
            "{ trainingJobs { totalCount } }",
            "{ deployments { totalCount } }",
        ]
        for query in queries:
            await api.query(query)
        assert (len(cache(api)), cache(api).evictions) == (2, 1)
        await api.query(queries[2])
        assert cache(api).hits == 1
        await api.query(queries[0])  # the one dropped
        assert (cache(api).hits, cache(api).misses, cache(api).evictions) == (1, 4, 2)


async def test_entries_are_bounded_by_bytes_too(tmp_path: Path) -> None:
    async with cached_api(tmp_path, response_cache_bytes=600) as api:  # two small entries (~290 each)
        small = ["{ trainingJobs { totalCount } }", "{ deployments { totalCount } }"]
        for query in small:
            await api.query(query)
        assert len(cache(api)) == 2 and cache(api).bytes <= 600
        catalog = "{ baseModels { name parameterCount modelSize } }"  # more than the bound on its own
        assert len(orjson.dumps(await api.query(catalog))) > 600 - 256
        assert (len(cache(api)), cache(api).evictions) == (2, 0)  # never kept, nothing dropped for it
        await api.query("{ trainingJobs(first: 1) { totalCount } }")
        assert (len(cache(api)), cache(api).evictions) == (2, 1)
        assert cache(api).bytes <= 600


async def test_a_hit_still_charges_the_budget_and_reports_it_fresh(tmp_path: Path) -> None:
    async with cached_api(tmp_path, rate_limit_capacity=200_000, rate_limit_refill=1) as api:
        query = "{ deployments(first: 100) { nodes { id metrics { p95Latency } } } }"
        first = await api.post(query)
        second = await api.post(query)
        assert cache(api).hits == 1
        assert second["data"] == first["data"] and second["extensions"]["cost"] == first["extensions"]["cost"]
        cost = first["extensions"]["cost"]["requested"]
        assert cost > 1000
        spent = first["extensions"]["rateLimit"]["remaining"] - second["extensions"]["rateLimit"]["remaining"]
        assert cost <= spent <= cost + 1  # refilled by at most a unit in between
        # until the budget is spent: then RATE_LIMITED, from the cache as from an execution
        while (body := (await api.http.post("/graphql", json={"query": query}))).status_code == 200:
            assert "errors" not in body.json()
        assert body.status_code == 429
        assert body.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_cached_answer_never_reaches_a_caller_without_the_read_scope(tmp_path: Path) -> None:
    options = {"tokens": (("reader", TOKEN),), "require_token_for_reads": True}
    async with cached_api(tmp_path, **options) as api:
        query = "{ trainingJobs { totalCount } }"
        for _ in range(2):
            ok = await api.http.post("/graphql", json={"query": query}, headers=AUTH)
            assert ok.json()["data"] == {"trainingJobs": {"totalCount": 0}}
        assert cache(api).hits == 1
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
            refused = (await api.http.post("/graphql", json={"query": query}, headers=headers)).json()
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert refused["data"] is None
        assert cache(api).hits == 1


async def test_a_get_revalidation_is_a_304_from_the_cache(tmp_path: Path) -> None:
    async with cached_api(tmp_path) as api:
        params = {"query": "{ trainingJobs { totalCount } }"}
        first = await api.http.get("/graphql", params=params, headers={"Accept": "application/json"})
        assert first.status_code == 200 and first.headers["ETag"]
        again = await api.http.get(
            "/graphql",
            params=params,
            headers={"Accept": "application/json", "If-None-Match": first.headers["ETag"]},
        )
        assert again.status_code == 304 and again.content == b""
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == "no-cache" and "Accept" in again.headers["Vary"]
        assert (cache(api).hits, cache(api).misses) == (1, 1)
        # a POST of the same operation shares the entry
        assert (await api.post(params["query"]))["data"] == first.json()["data"]
        assert cache(api).hits == 2


async def test_mutations_and_errors_are_never_kept(tmp_path: Path) -> None:
    async with cached_api(tmp_path) as api:
        bad = '{ deployment(id: "nope") { id } }'
        for _ in range(2):
            assert (await api.error(bad))["extensions"]["code"] == "INVALID_ID"
        job = await complete_job(api)
        versions = {
            (await api.query(DEPLOY, {"job": job}))["deployJob"]["deployment"]["version"] for _ in range(2)
        }
        assert versions == {"v1.0.0", "v1.1.0"}
        assert (cache(api).hits, len(cache(api))) == (0, 0)


def test_a_write_on_one_replica_ends_the_other_replicas_entries(tmp_path: Path) -> None:
    env = {"DEPLOYDECK_TOKENS": f"ci={TOKEN}"}
    from tests.databases import database_for_sync

    db = database_for_sync(tmp_path, "cache")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    flags = ("--db", db, "--rollout-seconds", "0", "--rate-limit-capacity", "0")
    with (
        live_server(tmp_path / "a", *flags, env=env) as a,
        live_server(tmp_path / "b", *flags, "--no-demo", env=env) as b,
    ):

        def post(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            body = httpx.post(
                f"{base}/graphql",
                json={"query": query, "variables": variables or {}},
                headers=AUTH,
                timeout=30,
            ).json()
            assert "errors" not in body, body
            return body["data"]  # type: ignore[no-any-return]

        found = post(
            a, "{ deployments(first: 100, filter: {status: [ACTIVE]}) { nodes { id databaseId aliases } } }"
        )
        dep = next(n for n in found["deployments"]["nodes"] if not n["aliases"])  # aliased: PROTECTED
        poll = "query($id: ID!) { deployment(id: $id) { status deployedBy } }"
        assert post(a, poll, {"id": dep["id"]})["deployment"]["status"] == "ACTIVE"
        behind_the_cache(db, f"UPDATE deployments SET deployed_by = 'behind' WHERE id = {dep['databaseId']}")
        # a hit on A: the change behind the cache is not seen
        assert post(a, poll, {"id": dep["id"]})["deployment"]["deployedBy"] != "behind"
        # a pause through B: A's next answer is executed, and current
        assert post(b, PAUSE, {"id": dep["id"]})["pauseDeployment"]["errors"] == []
        assert post(a, poll, {"id": dep["id"]})["deployment"] == {"status": "PAUSED", "deployedBy": "behind"}


async def test_a_request_never_serves_by_a_revision_read_before_it_arrived(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Concurrent requests share the Settler's query; one that arrives while a query is in flight
    (which may have read the revision before a write acknowledged meanwhile) waits for the next."""
    from resolvers import lifecycle

    real = lifecycle.schedule.observe
    gate, reading = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_first(session: Any) -> Any:
        nonlocal calls
        calls += 1
        seen = await real(session)
        if calls == 1:
            reading.set()
            await gate.wait()  # read, then held back: the in-flight query of the race
        return seen

    async with cached_api(tmp_path) as api:
        row, job = await a_job(api, dataset="first")
        await api.query(DATASET, {"id": job})  # kept at this revision
        monkeypatch.setattr(lifecycle.schedule, "observe", slow_first)
        other = asyncio.create_task(api.query("{ __typename }"))
        await reading.wait()
        async with api.db.write() as s:  # a write, committed while that query is in flight
            (await s.get(TrainingJob, row)).dataset = "second"  # type: ignore[union-attr]
        poll = asyncio.create_task(api.query(DATASET, {"id": job}))
        await asyncio.sleep(0.05)
        gate.set()
        assert (await poll)["trainingJob"]["dataset"] == "second"
        await other
        assert calls == 2


async def test_a_split_change_or_rollback_is_a_write_that_ends_the_kept_answers(tmp_path: Path) -> None:
    """Issue 15: the traffic split is read from the cache only until it changes."""
    async with cached_api(tmp_path) as api:
        old, new = await versions(api, 2)
        split = """{ model(name: "ranker") { trafficSplit { percent deployment { id } } }
            deployments(first: 5, filter: {modelName: "ranker"}) { nodes { id trafficPercent } } }"""

        async def shares() -> dict[str, float]:
            data = await api.query(split)
            by_split = {s["deployment"]["id"]: s["percent"] for s in data["model"]["trafficSplit"]}
            assert by_split == {n["id"]: n["trafficPercent"] for n in data["deployments"]["nodes"]}
            return by_split

        assert await shares() == {old: 0.0, new: 100.0}
        hits = cache(api).hits
        assert await shares() == {old: 0.0, new: 100.0} and cache(api).hits == hits + 1
        thirty = [{"deploymentId": old, "percent": 30}, {"deploymentId": new, "percent": 70}]
        done = await api.query(SET_SPLIT, {"model": "ranker", "shares": thirty})
        assert done["setTrafficSplit"]["errors"] == []
        assert await shares() == {old: 30.0, new: 70.0}
        assert (await api.query(ROLLBACK, {"model": "ranker"}))["rollbackModel"]["errors"] == []
        assert await shares() == {old: 0.0, new: 100.0}
