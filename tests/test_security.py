"""Who may write, limits on every request, masking of unexpected errors, probes, a busy database."""

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from settings import Settings, parse_settings
from tests.databases import ON_POSTGRES, database_for
from tests.process import live_server
from tests.support import Api, make_deployment, make_job, running_api
from tests.test_api_mutations import PAUSE, gid
from web.auth import TokenConfigError, identify, load_tokens, parse_tokens

OPS = "ops-team"
OPS_TOKEN = "s3cr3t-ops-token-0123456789"
CI_TOKEN = "another-token-for-the-ci-bot"
TOKENS = ((OPS, OPS_TOKEN), ("ci-bot", CI_TOKEN))
STATUS = "query($id: ID!) { deployment(id: $id) { status deployedBy events { kind actor } } }"


async def active_deployment(api: Api) -> str:
    async with api.db.write() as s:
        dep = await make_deployment(s, make_job(s))
    return gid("Deployment", dep.id)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-wrong-token", "Basic b3BzOnRva2Vu", "Bearer "]
)
async def test_writes_need_a_valid_token_and_change_nothing_without_one(
    tmp_path: Path, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_api(tmp_path, tokens=TOKENS) as api:
        dep = await active_deployment(api)
        if authorization:
            api.headers["Authorization"] = authorization
        body = await api.post(PAUSE, {"id": dep})
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        assert "Authorization: Bearer" in body["errors"][0]["message"]
        api.headers.clear()
        # reads stay open, and nothing changed
        assert (await api.query(STATUS, {"id": dep}))["deployment"]["status"] == "ACTIVE"
    assert not any(OPS_TOKEN in r.getMessage() or "wrong-token" in r.getMessage() for r in caplog.records)


async def test_the_token_name_is_the_actor(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_api(tmp_path, tokens=TOKENS) as api:
        dep = await active_deployment(api)
        api.headers["Authorization"] = f"Bearer {OPS_TOKEN}"
        assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
        job = (await api.query("{ trainingJobs(first: 1) { nodes { id } } }"))["trainingJobs"]["nodes"][0][
            "id"
        ]
        api.headers["Authorization"] = f"bearer {CI_TOKEN}"
        deployed = await api.query(
            "mutation($j: ID!) { deployJob(input: {jobId: $j}) { deployment { id deployedBy } } }", {"j": job}
        )
        assert deployed["deployJob"]["deployment"]["deployedBy"] == "ci-bot"
        events = (await api.query(STATUS, {"id": dep}))["deployment"]["events"]
        assert events[-1] == {"kind": "PAUSED", "actor": OPS}
    assert not any(OPS_TOKEN in r.getMessage() or CI_TOKEN in r.getMessage() for r in caplog.records)


async def test_reads_can_require_a_token(tmp_path: Path) -> None:
    async with running_api(tmp_path, tokens=TOKENS, require_token_for_reads=True) as api:
        body = await api.post("{ deployments { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        api.headers["Authorization"] = f"Bearer {OPS_TOKEN}"
        assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Deployment") { fields { name } } }',
        "query { ...F } fragment F on Query { ... on Query { __schema { types { name } } } }",
        "{ serverTime __schema { types { name } } }",
    ],
)
async def test_introspection_follows_the_read_rule(tmp_path: Path, query: str) -> None:
    async with running_api(tmp_path, tokens=TOKENS, require_token_for_reads=True) as api:
        body = await api.post(query)
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
        api.headers["Authorization"] = f"Bearer {OPS_TOKEN}"
        assert "errors" not in await api.post(query)
    async with running_api(tmp_path, tokens=TOKENS) as api:  # reads open: so is introspection
        assert "errors" not in await api.post(query)


async def test_without_tokens_writes_are_open_to_anonymous(api: Api) -> None:
    dep = await active_deployment(api)
    assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
    assert (await api.query(STATUS, {"id": dep}))["deployment"]["events"][-1]["actor"] == "anonymous"


def test_token_configuration(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# who may write\n{OPS}={OPS_TOKEN}\n\nci-bot = {CI_TOKEN}  # rotated monthly\n")
    assert load_tokens("", str(path)) == dict(TOKENS)
    assert load_tokens(f"{OPS}={OPS_TOKEN}", None) == {OPS: OPS_TOKEN}
    for bad in (
        "no-equals-sign",
        "=nameless-token-123456",
        "short=tiny",
        f"a b={OPS_TOKEN}",
        f"x={OPS_TOKEN},x={CI_TOKEN}",
    ):
        with pytest.raises(TokenConfigError) as exc:
            parse_tokens(bad, "DEPLOYDECK_TOKENS")
        assert OPS_TOKEN not in str(exc.value) and CI_TOKEN not in str(exc.value)
    with pytest.raises(TokenConfigError, match="cannot read"):
        load_tokens("", str(tmp_path / "missing"))
    assert identify(f"Bearer {OPS_TOKEN}", dict(TOKENS)).actor == OPS
    assert identify(f"Bearer {OPS_TOKEN}x", dict(TOKENS)).actor is None


def test_binding_beyond_loopback_needs_tokens_or_an_explicit_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_settings(["--host", "0.0.0.0"], env={})
    assert exc.value.code != 0
    assert "--allow-open-writes" in capsys.readouterr().err
    assert parse_settings(["--host", "0.0.0.0", "--allow-open-writes"], env={}).allow_open_writes
    with_tokens = parse_settings(["--host", "0.0.0.0"], env={"DEPLOYDECK_TOKENS": f"{OPS}={OPS_TOKEN}"})
    assert with_tokens.tokens == ((OPS, OPS_TOKEN),)
    assert parse_settings(["--host", "::1"], env={}).loopback


def nested(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f"trainingJob {{ deployments(first: 1) {{ nodes {{ {inner} }} }} }}"
    return "{ deployments(first: 1) { nodes { " + inner + " } } }"


@pytest.mark.parametrize(
    ("query", "limit_word"),
    [
        (nested(6), "depth"),
        ("{ " + " ".join(f"a{i}: serverTime" for i in range(40)) + " }", "aliases"),
        ("{ " + "serverTime " * 6000 + "}", "tokens"),
    ],
)
async def test_query_limits_are_clear_errors(api: Api, query: str, limit_word: str) -> None:
    body = await api.post(query)
    assert body.get("data") is None
    assert limit_word in body["errors"][0]["message"].lower()


async def test_limits_are_settings(tmp_path: Path) -> None:
    async with running_api(tmp_path, max_depth=40, max_aliases=100) as api:
        assert "errors" not in await api.post(nested(6))
        assert "errors" not in await api.post("{ " + " ".join(f"a{i}: serverTime" for i in range(40)) + " }")


async def test_batches_and_bodies_are_bounded(tmp_path: Path) -> None:
    async with running_api(tmp_path, max_batch=3, max_body_bytes=2000) as api:
        small = await api.http.post("/graphql", json=[{"query": "{ serverTime }"}] * 3)
        assert small.status_code == 200 and len(small.json()) == 3
        big = await api.http.post("/graphql", json=[{"query": "{ serverTime }"}] * 4)
        assert big.status_code == 400 and "Too many operations" in big.text
        huge = await api.http.post(
            "/graphql", json={"query": "{ serverTime }", "variables": {"x": "y" * 3000}}
        )
        assert huge.status_code == 413
        assert huge.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"

        async def chunks() -> Any:
            for _ in range(5):
                yield b" " * 1000

        chunked = await api.http.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413


async def test_introspection_can_be_turned_off(tmp_path: Path) -> None:
    async with running_api(tmp_path, introspection=False) as api:
        body = await api.post("{ __schema { types { name } } }")
        assert "introspection" in body["errors"][0]["message"].lower()
        assert (await api.query("{ serverTime }"))["serverTime"]
    async with running_api(tmp_path) as api:
        assert (await api.query("{ __schema { queryType { name } } }"))["__schema"]["queryType"][
            "name"
        ] == "Query"


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from resolvers import catalog

    def broken() -> None:
        raise RuntimeError("secret internals: /etc/deploydeck password=hunter2")

    monkeypatch.setattr(catalog, "base_models", broken)
    caplog.set_level(logging.INFO)
    response = await api.http.post(
        "/graphql", json={"query": "{ baseModels { name } }"}, headers={"X-Request-ID": "trace-me"}
    )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "trace-me"}
    assert "trace-me" in error["message"] and "hunter2" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and "trace-me" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_health_probes(api: Api, tmp_path: Path) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    assert (await api.http.get("/readyz")).json() == {"status": "ready"}
    from db.engine import Database

    app = api.app
    healthy = app.state.db
    app.state.db = Database(str(tmp_path / "no-such-dir" / "x.db"))
    try:
        down = await api.http.get("/readyz")
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        assert (await api.http.get("/healthz")).status_code == 200
    finally:
        await app.state.db.dispose()
        app.state.db = healthy


@asynccontextmanager
async def lock_held_by_another_process(tmp_path: Path) -> AsyncIterator[None]:
    """Another connection holds what every deployment write needs: SQLite's write lock, or
    PostgreSQL's fleet_state row."""
    if not ON_POSTGRES:
        holder = sqlite3.connect(tmp_path / "test.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    url = make_url(await database_for(tmp_path)).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        async with conn.transaction():
            await conn.execute("SELECT revision FROM fleet_state FOR UPDATE")
            yield
    finally:
        await conn.close()


async def test_a_busy_database_is_retried_then_reported_and_changes_nothing(tmp_path: Path) -> None:
    async with running_api(tmp_path, db_busy_timeout=0.2) as api:
        dep = await active_deployment(api)
        async with lock_held_by_another_process(tmp_path):
            body = await api.post(PAUSE, {"id": dep})
            assert body["errors"][0]["extensions"]["code"] == "DATABASE_BUSY"
            assert "Try again" in body["errors"][0]["message"]
            # reads still work meanwhile
            assert (await api.query(STATUS, {"id": dep}))["deployment"]["status"] == "ACTIVE"
        assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []


def test_settings_carry_every_limit() -> None:
    s = parse_settings(
        [
            "--max-depth",
            "5",
            "--max-aliases",
            "7",
            "--max-tokens",
            "900",
            "--max-batch",
            "2",
            "--max-body-bytes",
            "4096",
            "--no-introspection",
        ],
        env={},
    )
    assert (s.limits.max_depth, s.limits.max_aliases, s.limits.max_tokens, s.limits.max_batch) == (
        5,
        7,
        900,
        2,
    )
    assert s.max_body_bytes == 4096 and s.limits.introspection is False
    assert Settings().limits.introspection is True


async def test_an_unreachable_database_is_a_clear_503(api: Api, tmp_path: Path) -> None:
    from db.engine import Database

    app = api.app
    endpoint = next(r for r in app.routes if getattr(r, "path", "") == "/graphql").app
    reachable = endpoint.db
    endpoint.db = Database(str(tmp_path / "no-such-dir" / "x.db"))
    try:
        response = await api.http.post("/graphql", json={"query": "{ deployments { totalCount } }"})
        assert response.status_code == 503
        assert "unreachable" in response.json()["errors"][0]["message"]
    finally:
        await endpoint.db.dispose()
        endpoint.db = reachable
    assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0


@pytest.mark.e2e
def test_secrets_stay_out_of_the_logs(tmp_path: Path) -> None:
    secret = "s3cr3t_pasted_token_0123456789"
    with live_server(tmp_path, "--log-level", "debug") as base_url, httpx.Client(base_url=base_url) as http:
        http.get("/graphql", params={"query": "{ serverTime }", "token": secret})
        http.post(
            "/graphql",
            json={"query": "query($id: ID!) { deployment(id: $id) { id } }", "variables": {"id": secret}},
        )
        http.post(
            "/graphql",
            json={
                "query": "query($n: Int) { deployments(first: $n) { totalCount } }",
                "variables": {"n": secret},
            },
        )
        http.post("/graphql", json={"query": "query Q { serverTime }", "operationName": secret})
        http.post("/graphql", json={"query": f'{{ deployments(after: "{secret}") {{ totalCount }} }}'})
        http.post(
            "/graphql",
            json={"query": PAUSE, "variables": {"id": secret}},
            headers={"Authorization": f"Bearer {secret}"},
        )
    log = (tmp_path / "server.log").read_text()
    assert log.count("path=/graphql") >= 6, log  # the requests were logged ...
    assert secret not in log  # ... without the secret


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
async def test_loopback_names_are_served(api: Api, host: str) -> None:
    response = await api.http.post("/graphql", json={"query": "{ serverTime }"}, headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["rebound.attacker.example", "127.0.0.1.attacker.example:8000", ""])
async def test_a_rebound_page_cannot_write_through_another_host_name(api: Api, host: str) -> None:
    async with api.db.write() as s:
        job = make_job(s)
    deploy = "mutation($j: ID!) { deployJob(input: {jobId: $j}) { deployment { id } } }"
    response = await api.http.post(
        "/graphql",
        json={"query": deploy, "variables": {"j": gid("TrainingJob", job.id)}},
        headers={"Host": host},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "UNTRUSTED_HOST"
    assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0
    assert (await api.http.get("/healthz", headers={"Host": host})).status_code == 400


async def test_allowed_hosts_are_a_setting(tmp_path: Path) -> None:
    async with running_api(tmp_path, allowed_hosts=("deploydeck.internal",)) as api:
        ok = await api.http.post(
            "/graphql", json={"query": "{ serverTime }"}, headers={"Host": "deploydeck.internal:443"}
        )
        assert ok.status_code == 200
        assert (await api.http.post("/graphql", json={"query": "{ serverTime }"})).status_code == 400
    assert parse_settings(
        ["--allowed-host", "a.example", "--allowed-host", "b.example"], env={}
    ).trusted_hosts == {
        "a.example",
        "b.example",
    }
    assert parse_settings([], env={"DEPLOYDECK_ALLOWED_HOSTS": "a.example, B.example"}).trusted_hosts == {
        "a.example",
        "b.example",
    }
    assert Settings(host="0.0.0.0", allow_open_writes=True).trusted_hosts is None  # every interface: any name
    assert Settings(host="10.1.2.3").trusted_hosts == {"10.1.2.3", "localhost", "127.0.0.1", "::1"}
