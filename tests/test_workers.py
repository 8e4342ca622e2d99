"""`--workers 2`: two processes behind one port and one database behave as one service.

Which worker answered is read from /metrics: `deploydeck_worker_requests` has one series per
live worker, labelled by its pid (prometheus_client's multiprocess mode), and any worker's
scrape reports them all.
"""

import re
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from db import demo
from tests.databases import database_for_sync, query_rows
from tests.process import AUTH, TOKENS_ENV, free_port, run_server_command, server_process
from tests.test_api_mutations import PAUSE

pytestmark = pytest.mark.e2e

WORKER_SERIES = re.compile(r'^deploydeck_worker_requests\{pid="(\d+)"\} ([0-9.e+]+)$', re.MULTILINE)
STATUS = "query($id: ID!) { deployment(id: $id) { status } }"
PAUSED = "{ deployments(first: 100, filter: {status: [PAUSED]}) { totalCount nodes { id } } }"


def per_worker(base_url: str) -> dict[int, float]:
    """Requests each live worker has answered, as /metrics (from whichever worker) reports them."""
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {int(pid): float(count) for pid, count in WORKER_SERIES.findall(response.text)}


def post(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    # A new connection each time (no shared client): the kernel hands each to whichever worker accepts.
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def test_two_workers_share_one_port_and_stay_consistent(tmp_path: Path) -> None:
    db = database_for_sync(tmp_path, "workers")
    scratch = tmp_path / "tmp"  # the parent's metrics directory is made here, and must be gone at exit
    scratch.mkdir()
    flags = ("--workers", "2", "--rollout-seconds", "0", "--rate-limit-capacity", "0")
    env = {**TOKENS_ENV, "TMPDIR": str(scratch)}
    with server_process(tmp_path, db, *flags, env=env) as server:
        pids = list(server_pids(server.proc.pid))
        assert len(pids) == 2, f"expected two worker processes under {server.proc.pid}: {pids}"
        # both started on the empty database; one migrated and loaded the demo, once
        size = demo.size()
        assert query_rows(db, "SELECT count(*) FROM deployments") == [(size.deployments,)]
        assert query_rows(db, "SELECT count(*) FROM fleet_state") == [(1,)]

        # requests on new connections, a few at a time, reach both workers
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(10):
                list(pool.map(lambda _: post(server.graphql_url, "{ serverTime }"), range(8)))
                if len(per_worker(server.base_url)) == 2:
                    break
        assert sorted(per_worker(server.base_url)) == sorted(pids)

        # a pause through one connection is seen by every later read, on either worker
        dep = post(
            server.graphql_url,
            "{ deployments(first: 100, filter: {status: [ACTIVE]}) { nodes { id aliases } } }",
        )
        dep_id = next(n["id"] for n in dep["deployments"]["nodes"] if not n["aliases"])  # aliased: PROTECTED
        paused_before = post(server.graphql_url, PAUSED)["deployments"]["totalCount"]
        assert post(server.graphql_url, PAUSE, {"id": dep_id})["pauseDeployment"]["errors"] == []
        seen_by = dict.fromkeys(pids, 0.0)
        for _ in range(10):
            before = per_worker(server.base_url)
            with ThreadPoolExecutor(max_workers=4) as pool:
                reads = list(pool.map(lambda _: read_pause(server.graphql_url, dep_id), range(12)))
            after = per_worker(server.base_url)
            for status, listed in reads:
                assert status == "PAUSED"
                assert listed == (paused_before + 1, True)  # the fleet snapshot of that worker has it too
            for pid in pids:
                # each read counts 1 on the worker that answered it; the first scrape at most 1 more
                seen_by[pid] += after[pid] - before[pid] - 1
            if all(count > 0 for count in seen_by.values()):
                break
        assert all(count > 0 for count in seen_by.values()), f"reads per worker: {seen_by}"

        # SIGTERM to the parent stops both workers gracefully; exit 0; the metrics directory is removed
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=40) == 0, server.log_text()[-3000:]
    assert not any(alive(pid) for pid in pids)
    assert list(scratch.iterdir()) == []


def read_pause(url: str, dep_id: str) -> tuple[str, tuple[int, bool]]:
    status = post(url, STATUS, {"id": dep_id})["deployment"]["status"]
    listing = post(url, PAUSED)["deployments"]
    return status, (listing["totalCount"], dep_id in {n["id"] for n in listing["nodes"]})


def server_pids(parent: int) -> list[int]:
    """The worker processes of a `--workers` parent (its children that run the server)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    workers = []
    for child in map(int, children):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:  # spawned workers; not the resource tracker
            workers.append(child)
    return workers


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_a_worker_that_cannot_start_stops_the_parent_with_an_error(tmp_path: Path) -> None:
    # an empty database with --no-migrate: every worker refuses to start; the parent must not exit 0
    port = str(free_port())
    db = str(tmp_path / "empty.db")
    try:
        result = run_server_command(
            ["--db", db, "--no-migrate", "--workers", "2", "--port", port], cwd=tmp_path, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the parent kept running after its workers failed to start")
    assert result.returncode != 0
    assert "pending" in result.stderr.lower() or "migrat" in result.stderr.lower(), result.stderr[-2000:]
