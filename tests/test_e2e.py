"""server.py as a user starts it, over a real socket."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.process import live_server

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, "--demo", "--rollout-seconds", "0") as base:
        yield f"{base}/graphql"


def test_demo_server_over_a_real_socket(server: str) -> None:
    # the demo data is there
    body = httpx.post(
        server,
        json={
            "query": """{
        trainingJobs(filter: {deployable: true}, first: 1) { totalCount nodes { id modelName } }
        deployments(first: 5) { totalCount nodes { version status trainingJob { modelName } } } }"""
        },
    ).json()
    assert "errors" not in body
    assert body["data"]["deployments"]["totalCount"] >= 20
    job = body["data"]["trainingJobs"]["nodes"][0]
    # a deploy works end to end
    deployed = httpx.post(
        server,
        json={
            "query": "mutation($j: ID!) { deployJob(input: {jobId: $j}) { deployment { id status modelName } errors { code } } }",
            "variables": {"j": job["id"]},
        },
    ).json()["data"]["deployJob"]
    assert deployed["errors"] == [] and deployed["deployment"]["modelName"] == job["modelName"]
    # GraphiQL for browsers
    page = httpx.get(server, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_help_explains_every_flag() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--db", "--demo", "--no-demo", "--rollout-seconds", "--log-level"):
        assert flag in out
    for env in (
        "DEPLOYDECK_HOST",
        "DEPLOYDECK_PORT",
        "DATABASE_URL",
        "DEPLOYDECK_DEMO",
        "DEPLOYDECK_ROLLOUT_SECONDS",
        "DEPLOYDECK_LOG_LEVEL",
    ):
        assert env in out
