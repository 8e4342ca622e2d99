"""Stopping and refusing to start: SIGTERM drains in-flight requests; bad settings fail fast and clearly."""

import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from settings import parse_settings
from tests.databases import database_for_sync
from tests.process import TOKEN, TOKEN_NAME, free_port, run_server_command, server_process
from tests.test_api_mutations import DEPLOY

pytestmark = pytest.mark.e2e

REQUESTS = 30
# Slow enough that all of them are still being answered when SIGTERM comes (~0.1 s each alone).
SLOW_READ = """{ deployments(first: 100) { totalCount nodes { id status
  metricsHistory(range: LAST_24_HOURS) { points { timestamp p95Latency } } } } }"""
JOB = "{ trainingJobs(first: 1, filter: {deployable: true}) { nodes { id } } }"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_in_flight_requests_finish_and_exits_0(tmp_path: Path, workers: str) -> None:
    # Budgets off and a long deadline: 25 expensive reads at once from one client are a client the budget
    # stops, and queue longer than the default deadline; this test is about draining them on SIGTERM.
    # With --workers 2 the signal goes to the parent, which drains both workers.
    flags = (
        "--rollout-seconds",
        "0",
        "--rate-limit-capacity",
        "0",
        "--request-timeout",
        "60",
        "--workers",
        workers,
    )
    with server_process(tmp_path, database_for_sync(tmp_path), *flags) as server:
        job = httpx.post(server.graphql_url, json={"query": JOB}).json()["data"]["trainingJobs"]["nodes"][0][
            "id"
        ]
        bodies = [{"query": SLOW_READ}] * (REQUESTS - 5) + [{"query": DEPLOY, "variables": {"job": job}}] * 5
        results: list[httpx.Response | Exception | None] = [None] * REQUESTS
        connected = threading.Barrier(REQUESTS + 1)

        def send(i: int) -> None:
            with httpx.Client(timeout=30) as http:
                http.post(server.graphql_url, json={"query": "{ serverTime }"})  # open the connection first
                connected.wait(timeout=30)
                try:
                    results[i] = http.post(server.graphql_url, json=bodies[i])
                except httpx.HTTPError as exc:
                    results[i] = exc

        threads = [threading.Thread(target=send, args=(i,)) for i in range(REQUESTS)]
        for thread in threads:
            thread.start()
        connected.wait(timeout=30)
        time.sleep(0.5)  # every request is sent, read by the server and being worked on
        unanswered_at_sigterm = sum(r is None for r in results)
        server.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        for thread in threads:
            thread.join(timeout=30)
        try:
            exit_code: int | None = server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still running: the `with` kills it; the assertion below says so
            exit_code = None
        stopped_after = time.monotonic() - sent
        log = server.log_text()

    print(
        f"\nSIGTERM with {unanswered_at_sigterm} of {REQUESTS} requests in flight; "
        f"exit code {exit_code} after {stopped_after:.1f} s"
    )
    assert unanswered_at_sigterm >= REQUESTS // 2, "the requests were in flight when SIGTERM came"
    for i, result in enumerate(results):
        # every one was sent on an open connection before SIGTERM: none may be cut off or refused
        assert isinstance(result, httpx.Response), f"request {i}: {result!r}\n{log[-2000:]}"
        assert result.status_code == 200, f"request {i}: {result.status_code} {result.text[:300]}"
        body = result.json()  # complete: httpx checked Content-Length, and the JSON parses
        assert "errors" not in body, f"request {i}: {body['errors']}"
        if "deployments" in body["data"]:
            assert len(body["data"]["deployments"]["nodes"]) >= 20
        else:
            assert body["data"]["deployJob"]["errors"] == []
    assert exit_code is not None, f"still running 10 s after SIGTERM\n{log[-2000:]}"
    # 0, not "killed by SIGTERM" (-15; 143 in a shell): supervisors report anything else as a crash
    assert exit_code == 0, f"exit code {exit_code} after a graceful SIGTERM\n{log[-2000:]}"


def test_a_database_in_a_missing_directory_fails_fast_naming_it(tmp_path: Path) -> None:
    db = "/nonexistent-dir/x.db"
    result = run_server_command(["--port", str(free_port()), "--db", db], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    # not the start-up line that names the database anyway: a line that says it failed
    failures = [
        line
        for line in output.splitlines()
        if db in line and re.search(r"cannot|unable|error|fail", line, re.I)
    ]
    assert failures, f"no message naming {db}:\n{output[-3000:]}"


def test_a_public_address_without_tokens_is_refused(tmp_path: Path) -> None:
    # The missing database directory makes sure nothing would listen on 0.0.0.0 even if the refusal broke:
    # uvicorn opens the database (lifespan start-up) before it binds.
    result = run_server_command(
        ["--host", "0.0.0.0", "--port", str(free_port()), "--db", "/nonexistent-dir/x.db"], cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert re.search(r"tokens?\b", output, re.I) and "--allow-open-writes" in output, output[-3000:]
    assert "nonexistent-dir" not in output, "refused before touching the database"


def test_a_public_address_is_accepted_with_tokens_or_explicitly_open_writes() -> None:
    with_tokens = parse_settings(["--host", "0.0.0.0"], env={"DEPLOYDECK_TOKENS": f"{TOKEN_NAME}={TOKEN}"})
    assert with_tokens.host == "0.0.0.0" and dict(with_tokens.tokens) == {TOKEN_NAME: TOKEN}
    assert parse_settings(["--host", "0.0.0.0", "--allow-open-writes"], env={}).allow_open_writes
    assert parse_settings([], env={"DEPLOYDECK_HOST": "::1"}).loopback  # loopback needs neither
