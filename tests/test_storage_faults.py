"""A database that refuses writes (read-only, full) or hangs: clear codes, reads go on, /readyz tells.

How the faults are made. Making the file read-only does not stop a test running as root, and a
test may not fill a real disk; so each database's own knob makes it produce the very error the
real fault gives, through the seam `Database.reconnect(settings)` (new connections apply the
settings; no settings: back to normal, without a restart):

- SQLite `PRAGMA query_only=ON`: writes fail with SQLITE_READONLY, the result code of a file
  that can only be opened read-only (a chmod, a read-only mount);
- SQLite `PRAGMA max_page_count=<pages now>`: the file may not grow, so the first write that
  needs a new page fails with SQLITE_FULL, as when the disk is full;
- PostgreSQL `default_transaction_read_only=on`: SQLSTATE 25006, as on a hot standby or a
  database an operator switched to read-only.

A hung PostgreSQL (accepts, never answers) is a TCP listener on 127.0.0.1 that reads and says
nothing.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from db.engine import Database, DatabaseFull, DatabaseReadOnly
from db.faults import refusal
from tests.databases import ON_POSTGRES, query_rows
from tests.process import server_process
from tests.support import Api, Clock, make_deployment, make_job, running_api
from tests.test_api_mutations import DEPLOY, PAUSE, gid
from tests.test_api_training import CREATE, job_input
from web.health import READY_TIMEOUT

READ_ONLY = {"default_transaction_read_only": "on"} if ON_POSTGRES else {"query_only": "ON"}
STATUS = "query($id: ID!) { deployment(id: $id) { status events { kind } } }"
DEPLOYABLE = "{ trainingJobs(first: 1, filter: {deployable: true}) { nodes { id } } }"
DEPLOYING_COUNT = "{ deployments(filter: {status: [DEPLOYING]}) { totalCount nodes { status } } }"


async def test_a_read_only_database_refuses_writes_clearly_and_keeps_serving_reads(tmp_path: Path) -> None:
    clock = Clock()
    async with running_api(tmp_path, clock, rollout_seconds=30) as api:
        async with api.db.write() as s:
            job = make_job(s)
            active = gid("Deployment", (await make_deployment(s, job)).id)
        deploying = (await api.query(DEPLOY, {"job": gid("TrainingJob", job.id)}))["deployJob"]["deployment"][
            "id"
        ]
        await api.db.reconnect(READ_ONLY)
        # the probe finds out before any write fails, and keeps the replica in rotation: reads work
        ready = await api.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "degraded" and ready.json()["reason"] == "read_only"
        clock.advance(seconds=31)  # the rollout is due, and cannot be written

        # then: every read answers, from the committed state (before this fix: HTTP 500, every one)
        response = await api.http.post("/graphql", json={"query": "{ serverTime }"})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        assert (await api.query(STATUS, {"id": deploying}))["deployment"]["status"] == "DEPLOYING"
        assert (await api.query(DEPLOYING_COUNT))["deployments"]["totalCount"] == 1
        # writes fail with their own code, and change nothing
        error = await api.error(PAUSE, {"id": active})
        assert error["extensions"]["code"] == "DATABASE_READ_ONLY", error
        assert "nothing was changed" in error["message"]
        assert (await api.query(STATUS, {"id": active}))["deployment"]["status"] == "ACTIVE"
        assert (await api.http.get("/readyz")).json()["reason"] == "read_only"

        # when: the database is writable again, no restart
        await api.db.reconnect()
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}  # before any write
        # then: the due rollout is written by the next request, and writes work
        settled = (await api.query(STATUS, {"id": deploying}))["deployment"]
        # the move, and for an ACTIVE one the traffic it takes (issue 15)
        assert settled["status"] in ("ACTIVE", "FAILED")
        assert len(settled["events"]) == (3 if settled["status"] == "ACTIVE" else 2)
        assert (await api.query(PAUSE, {"id": active}))["pauseDeployment"]["errors"] == []
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}


@pytest.mark.skipif(
    ON_POSTGRES, reason="PostgreSQL has no knob that fills its disk; SQLSTATE 53100 maps alike"
)
async def test_a_full_database_refuses_writes_clearly_and_keeps_what_it_has(tmp_path: Path) -> None:
    async with running_api(tmp_path) as api:
        ((pages,),) = query_rows(str(tmp_path / "test.db"), "PRAGMA page_count")
        await api.db.reconnect({"max_page_count": str(pages)})
        # when: jobs are created until the file would have to grow
        created, error = 0, None
        for _ in range(500):
            body = await api.post(CREATE, {"input": job_input(modelName=f"filler-{created:04d}-" + "x" * 80)})
            if body.get("errors"):
                error = body["errors"][0]
                break
            assert body["data"]["createTrainingJob"]["errors"] == []
            created += 1
        # then: a clear code, never INTERNAL_SERVER_ERROR; nothing half-written; reads go on
        assert error is not None and error["extensions"]["code"] == "DATABASE_FULL", error
        count = "{ trainingJobs { totalCount } }"
        assert (await api.query(count))["trainingJobs"]["totalCount"] == created
        ready = await api.http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["reason"] == "full"

        # when: there is room again
        await api.db.reconnect()
        assert (await api.query(CREATE, {"input": job_input()}))["createTrainingJob"]["errors"] == []
        assert (await api.query(count))["trainingJobs"]["totalCount"] == created + 1
        assert (await api.http.get("/readyz")).json() == {"status": "ready"}


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL server setting")
async def test_postgresql_switched_read_only_and_back_needs_no_restart(tmp_path: Path) -> None:
    """The operator's own knob this time, no seam: ALTER DATABASE … SET default_transaction_read_only."""
    async with running_api(tmp_path) as api:
        async with api.db.write() as s:
            active = gid("Deployment", (await make_deployment(s, make_job(s))).id)
        url = make_url(api.db.url)
        admin = await asyncpg.connect(
            url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        )
        try:
            await admin.execute(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
            await api.db.reconnect()  # as after a failover: new connections meet a read-only server
            assert (await api.http.get("/readyz")).json()["reason"] == "read_only"
            assert (await api.error(PAUSE, {"id": active}))["extensions"]["code"] == "DATABASE_READ_ONLY"
            await admin.execute(f'ALTER DATABASE "{url.database}" RESET default_transaction_read_only')
            assert (await api.http.get("/readyz")).json() == {"status": "ready"}
            # then: the next write works; the pooled connection that was read-only has been replaced
            assert (await api.query(PAUSE, {"id": active}))["pauseDeployment"]["errors"] == []
        finally:
            await admin.execute(f'ALTER DATABASE "{url.database}" RESET default_transaction_read_only')
            await admin.close()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never answers: a hung database server."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_readyz_answers_within_its_bound_when_the_database_hangs(api: Api) -> None:
    app = api.app
    healthy = app.state.db
    async with silent_server() as port:
        app.state.db = Database(f"postgresql+asyncpg://deploydeck@127.0.0.1:{port}/hung")
        try:
            started = time.monotonic()
            response = await api.http.get("/readyz")
            elapsed = time.monotonic() - started
            # before this fix: as long as the connect timeout (10 s), or forever once connected
            assert response.status_code == 503 and response.json()["status"] == "unavailable"
            assert READY_TIMEOUT <= elapsed < READY_TIMEOUT + 1.5, elapsed
            assert (await api.http.get("/healthz")).status_code == 200
        finally:
            await app.state.db.dispose()
            app.state.db = healthy
    assert (await api.http.get("/readyz")).json() == {"status": "ready"}


def test_postgresql_disk_full_and_standby_errors_are_named() -> None:
    """No test can fill PostgreSQL's disk; its SQLSTATEs are classified like SQLite's result codes."""

    class ServerError(Exception):
        def __init__(self, message: str, sqlstate: str) -> None:
            super().__init__(message)
            self.sqlstate = sqlstate

    def driver_error(message: str, sqlstate: str) -> DBAPIError:
        return DBAPIError("INSERT …", None, ServerError(message, sqlstate))

    full = refusal(driver_error('could not extend file "base/16384/2619": No space left on device', "53100"))
    standby = refusal(driver_error("cannot execute UPDATE in a read-only transaction", "25006"))
    assert isinstance(full, DatabaseFull) and full.reason == "full"
    assert isinstance(standby, DatabaseReadOnly) and standby.reason == "read_only"
    assert refusal(driver_error('duplicate key value violates unique constraint "x"', "23505")) is None


@asynccontextmanager
async def freezable_proxy(target: tuple[str, int]) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A TCP proxy to `target`; clear the event and it stops passing bytes: a server that hangs
    with connections open (the pool's connections stay connected and get no answer)."""
    flowing = asyncio.Event()
    flowing.set()
    writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await flowing.wait()
            writer.write(data)
            await writer.drain()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*target)
        writers.extend((client_writer, server_writer))
        await asyncio.gather(
            pipe(client_reader, server_writer), pipe(server_reader, client_writer), return_exceptions=True
        )

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], flowing
    finally:
        flowing.set()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL server that hangs mid-connection")
async def test_readyz_answers_within_its_bound_when_a_connected_server_hangs(api: Api) -> None:
    app = api.app
    healthy = app.state.db
    url = make_url(api.db.url)
    async with freezable_proxy((url.host or "127.0.0.1", url.port or 5432)) as (port, flowing):
        app.state.db = Database(url.set(port=port).render_as_string(hide_password=False))
        try:
            assert (await api.http.get("/readyz")).json() == {"status": "ready"}  # a pooled connection now
            flowing.clear()
            for _ in range(2):  # the second while the first probe still hangs: no pile-up, same answer
                started = time.monotonic()
                response = await api.http.get("/readyz")
                elapsed = time.monotonic() - started
                assert response.status_code == 503 and response.json()["status"] == "unavailable"
                assert elapsed < READY_TIMEOUT + 1.5, elapsed
            flowing.set()
        finally:
            await app.state.db.dispose()
            app.state.db = healthy


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file opened read-only")
def test_a_server_on_a_file_opened_read_only_serves_reads_and_refuses_writes(tmp_path: Path) -> None:
    """No seam: a real `server.py` on a real read-only open (SQLite's `mode=ro`, which the
    file's permissions force on every process but root's), with a rollout due."""
    db = tmp_path / "ro.db"
    with server_process(tmp_path, db, "--rollout-seconds", "0.5", log_name="writer.log") as server:
        job = httpx.post(server.graphql_url, json={"query": DEPLOYABLE}).json()["data"]["trainingJobs"]
        job_id = job["nodes"][0]["id"]
        deployed = httpx.post(server.graphql_url, json={"query": DEPLOY, "variables": {"job": job_id}})
        assert deployed.json()["data"]["deployJob"]["errors"] == []
    read_only = f"sqlite+aiosqlite:///file:{db}?mode=ro&uri=true"
    # before this fix it did not even start: its first `{ serverTime }` was HTTP 500, the rollout being due
    with server_process(tmp_path, read_only, "--no-demo", log_name="reader.log") as server:
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 200 and ready.json()["reason"] == "read_only", ready.text
        # the rollout is due (0.5 s have passed) and cannot be written: reads answer all the same
        read = httpx.post(server.graphql_url, json={"query": "{ serverTime " + DEPLOYING_COUNT[1:]})
        assert read.status_code == 200 and "errors" not in read.json(), read.text
        assert read.json()["data"]["deployments"]["totalCount"] >= 1
        write = httpx.post(server.graphql_url, json={"query": DEPLOY, "variables": {"job": job_id}})
        assert write.status_code == 200
        assert [e["extensions"]["code"] for e in write.json()["errors"]] == ["DATABASE_READ_ONLY"]
        assert "Traceback" not in server.log_text()
