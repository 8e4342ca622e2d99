"""server.py as a user starts it, over a real socket."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DEPLOYDECK_ROLLOUT_SECONDS": "0"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "server.py"),
                "--port",
                str(port),
                "--db",
                str(tmp_path / "e2e.db"),
                "--log-level",
                "warning",
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.post(url, json={"query": "{ serverTime }"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
