"""Work is bounded while it runs: the request deadline, the response-size cap, sessions per request,
PostgreSQL's statement_timeout. Slowness is arranged (a resolver that sleeps), never hoped for."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import resolvers.training_jobs as job_resolvers
from db import deployments as deployments_db
from db.engine import Database
from resolvers.snapshot import FleetCache
from settings import parse_settings
from tests.databases import ON_POSTGRES
from tests.support import Api, make_deployment, make_job, running_api
from tests.test_api_mutations import PAUSE, gid
from web import deadline

DEPLOY = """mutation($job: ID!) { deployJob(input: {jobId: $job}) {
  deployment { id trainingJob { modelName } } errors { code } } }"""
LOSS = "{ trainingJobs(first: 100) { nodes { id lossHistory(points: 240) { progress epoch loss } } } }"


async def complete_job(api: Api) -> str:
    async with api.db.write() as s:
        job = make_job(s)
        await s.flush()
    return gid("TrainingJob", job.id)


async def counts(api: Api) -> tuple[int, int]:
    async with api.db.read() as s:
        deployments = (await s.execute(text("SELECT count(*) FROM deployments"))).scalar_one()
        events = (await s.execute(text("SELECT count(*) FROM deployment_events"))).scalar_one()
    return deployments, events


def timed_out(body: dict[str, Any]) -> dict[str, Any]:
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT", error
    assert "request_timeout" in error["message"]
    return error  # type: ignore[no-any-return]


async def test_a_slow_query_ends_at_the_deadline_with_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hung(*_: Any, **__: Any) -> Any:
        await asyncio.sleep(30)  # a hung database, say; the test would take 30 s without the deadline

    async with running_api(tmp_path, request_timeout=0.3) as api:
        # Every listing takes the fleet snapshot first (its revision was read with the settler's check).
        monkeypatch.setattr(FleetCache, "current", hung)
        error = timed_out(await api.post("{ deployments { nodes { id } } }"))
        assert error["extensions"]["timeout"] == 0.3 and error["extensions"]["committed"] == 0
        monkeypatch.undo()
        # the server is fine afterwards
        assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0


async def test_cpu_bound_work_is_stopped_at_the_deadline_too(tmp_path: Path) -> None:
    """100 loss curves of 240 points are ~0.5 s of synchronous completion; it yields, so the deadline fires."""
    async with running_api(tmp_path, request_timeout=0.02) as api:
        async with api.db.write() as s:
            for _ in range(100):
                make_job(s)
        timed_out(await api.post(LOSS))
    (tmp_path / "roomy").mkdir()
    async with running_api(tmp_path / "roomy", request_timeout=30) as api:
        async with api.db.write() as s:
            for _ in range(100):
                make_job(s)
        nodes = (await api.query(LOSS))["trainingJobs"]["nodes"]
        assert len(nodes) == 100 and all(len(n["lossHistory"]) == 240 for n in nodes)


async def test_a_mutation_cut_by_the_deadline_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = deployments_db.create_deployment

    async def slow_create(**kwargs: Any) -> Any:
        created = await real(**kwargs)  # the rows are written, not committed...
        await asyncio.sleep(30)  # ...when the deadline strikes
        return created

    async with running_api(tmp_path, request_timeout=0.3) as api:
        job = await complete_job(api)
        before = await counts(api)
        monkeypatch.setattr(deployments_db, "create_deployment", slow_create)
        error = timed_out(await api.post(DEPLOY, {"job": job}))
        assert error["extensions"]["committed"] == 0 and "nothing was changed" in error["message"]
        monkeypatch.undo()
        assert await counts(api) == before  # no deployment, no event: nothing partial
        # and the version it would have taken is free: the next deploy gets v1.0.0
        deployed = await api.query(DEPLOY.replace("id trainingJob", "id version trainingJob"), {"job": job})
        assert deployed["deployJob"]["deployment"]["version"] == "v1.0.0"


async def test_a_deadline_after_the_commit_says_the_change_is_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = job_resolvers.job_of

    async def slow_job_of(ctx: Any, job_id: int) -> Any:
        await asyncio.sleep(30)  # resolving the payload, after deployJob's transaction committed
        return await real(ctx, job_id)

    async with running_api(tmp_path, request_timeout=0.3) as api:
        job = await complete_job(api)
        before = await counts(api)
        monkeypatch.setattr(job_resolvers, "job_of", slow_job_of)
        error = timed_out(await api.post(DEPLOY, {"job": job}))
        assert error["extensions"]["committed"] == 1 and "stay committed" in error["message"]
        monkeypatch.undo()
        assert (await counts(api))[0] == before[0] + 1  # the deploy happened, and the error said so


async def test_a_commit_in_flight_is_never_cut() -> None:
    """While a commit runs the deadline waits for it; released, it fires at the next await."""
    loop = asyncio.get_running_loop()
    finished = []
    with pytest.raises(TimeoutError):
        async with deadline.bounded(loop.time() + 0.05) as timer:
            hold = deadline.CommitHold(grace=5)
            hold.hold()
            await asyncio.sleep(0.2)  # the "commit": four times the deadline
            finished.append("commit")
            hold.release()
            await asyncio.sleep(5)  # the next await: the deadline is past, so it fires here
            finished.append("after")
    assert timer.expired() and finished == ["commit"]


async def test_responses_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    query = "{ __schema { types { name description } } }"
    async with running_api(tmp_path, max_response_bytes=2_000) as api:
        body = await api.post(query)
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE" and error["extensions"]["limit"] == 2_000
        assert error["extensions"]["size"] > 2_000 and "max_response_bytes" in error["message"]
        assert body["extensions"]["cost"]["requested"] > 0  # what it cost is still reported
        # under the cap: answered as usual; a batch over it: each operation gets the error
        assert (await api.query("{ serverTime }"))["serverTime"]
        batch = await api.http.post("/graphql", json=[{"query": query}, {"query": "{ serverTime }"}])
        assert [r["errors"][0]["extensions"]["code"] for r in batch.json()] == ["RESPONSE_TOO_LARGE"] * 2
    (tmp_path / "default").mkdir()
    async with running_api(tmp_path / "default") as api:
        assert "errors" not in await api.post(query)  # the default (8 MiB) is far above it


@pytest.mark.parametrize("cap", [2, 12])
async def test_database_sessions_per_request_are_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    open_now = 0
    most = 0
    real = Database.read

    def counting(self: Database, **options: Any) -> Any:
        class Counted:
            async def __aenter__(inner: Any) -> Any:
                nonlocal open_now, most
                inner.cm = real(self, **options)
                session = await inner.cm.__aenter__()
                open_now += 1
                most = max(most, open_now)
                await asyncio.sleep(0.02)  # hold it a moment, so that siblings overlap
                return session

            async def __aexit__(inner: Any, *exc: Any) -> Any:
                nonlocal open_now
                open_now -= 1
                return await inner.cm.__aexit__(*exc)

        return Counted()

    # ten sibling root fields, each with its own sessions (list and count)
    query = "{ " + " ".join(f"a{i}: trainingJobs(first: {i + 1}) {{ totalCount }}" for i in range(10)) + " }"
    async with running_api(tmp_path, db_sessions_per_request=cap) as api:
        monkeypatch.setattr(Database, "read", counting)
        assert "errors" not in await api.post(query)
    if cap == 2:
        assert most == 2  # capped
    else:
        assert most > 2  # the same query does open more at once when allowed: the cap is what held it


@pytest.mark.skipif(not ON_POSTGRES, reason="statement_timeout is PostgreSQL's")
async def test_postgresql_statements_end_at_the_request_timeout(tmp_path: Path) -> None:
    async with running_api(tmp_path, request_timeout=1.5) as api, api.db.read() as s:
        assert (
            await s.execute(text("SHOW statement_timeout"))
        ).scalar_one() == "2500ms"  # the deadline and a second
        with pytest.raises(Exception, match="statement timeout"):
            await s.execute(text("SELECT pg_sleep(5)"))


def test_the_bounds_are_settings() -> None:
    s = parse_settings(
        ["--request-timeout", "2.5", "--max-response-bytes", "1000", "--db-sessions-per-request", "3"], env={}
    )
    assert (s.request_timeout, s.max_response_bytes, s.db_sessions_per_request) == (2.5, 1000, 3)
    env = {"DEPLOYDECK_REQUEST_TIMEOUT": "7", "DEPLOYDECK_MAX_RESPONSE_BYTES": "99"}
    assert parse_settings([], env=env).request_timeout == 7
    assert parse_settings([], env=env).max_response_bytes == 99
    defaults = parse_settings([], env={})
    assert (defaults.request_timeout, defaults.max_response_bytes, defaults.db_sessions_per_request) == (
        5.0,
        8 * 1024 * 1024,
        4,
    )
    for bad in (["--request-timeout", "0"], ["--db-sessions-per-request", "0"]):
        with pytest.raises(SystemExit):
            parse_settings(bad, env={})


async def test_the_server_is_fine_after_timeouts(tmp_path: Path) -> None:
    """Cut-off requests leave no damage: pooled connections still work and writes still commit."""
    async with running_api(tmp_path, request_timeout=0.02) as api:
        async with api.db.write() as s:
            for _ in range(100):
                make_job(s)
            dep = await make_deployment(s, make_job(s))
        for _ in range(3):
            timed_out(await api.post(LOSS))
    async with running_api(tmp_path) as api:  # the same database, the default deadline
        paused = await api.query(PAUSE, {"id": gid("Deployment", dep.id)})
        assert paused["pauseDeployment"]["errors"] == []
        assert (await api.query(LOSS))["trainingJobs"]["nodes"]


@pytest.mark.parametrize(("rows", "together"), [(100, 1), (5, 2)])
async def test_expensive_operations_take_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int, together: int
) -> None:
    """Two 100-row pages with a history per row (cost ~25,000) run one after the other; two 5-row
    pages (cost ~1,300) side by side. Serialising the expensive ones is what keeps cheap requests
    from queueing behind several of them at once."""
    real = FleetCache.current  # every listing takes the snapshot, inside the operation
    running = 0
    most = 0

    async def observed(self: FleetCache, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.2)
            return await real(self, *args, **kwargs)
        finally:
            running -= 1

    query = (
        f"{{ deployments(first: {rows}) {{ nodes {{ id metricsHistory {{ points {{ timestamp }} }} }} }} }}"
    )
    async with running_api(tmp_path) as api:
        monkeypatch.setattr(FleetCache, "current", observed)
        first, second = await asyncio.gather(api.post(query), api.post(query))
        assert "errors" not in first and "errors" not in second
        assert (first["extensions"]["cost"]["requested"] >= 10_000) == (rows == 100)
    assert most == together
