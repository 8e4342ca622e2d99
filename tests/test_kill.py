"""SIGKILL mid-stream: a crash must not lose an acknowledged deploy nor leave half a deployment behind.

Several threads deploy COMPLETE jobs (and pause and resume) as fast as the server answers; the
server is SIGKILLed while requests are in flight, the database is audited directly, and the server is
restarted on the same file. Three rounds, killed at different moments, so that some kill lands
inside a write transaction.
"""

import base64
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import database_for_sync
from tests.process import audit, read_deployments, server_process
from tests.test_api_mutations import DEPLOY, PAUSE, RESUME

pytestmark = pytest.mark.e2e

DEPLOYERS = 6
TOGGLERS = 2
KILL_AFTER = (0.6, 1.1, 1.7)  # seconds of traffic before each round's SIGKILL
# Deployable jobs, but for a model with a canary baking (it refuses deploys: ROLLOUT_IN_PROGRESS)
COMPLETE_JOBS = """{ trainingJobs(first: 100, filter: {deployable: true}) { nodes { id modelName } }
  models(first: 100) { nodes { name rollout { state } } } }"""
ACTIVE_OR_PAUSED = "{ deployments(first: 100, filter: {status: [ACTIVE, PAUSED]}) { nodes { id status } } }"


def deployable_jobs(http: httpx.Client, url: str) -> list[str]:
    data = post(http, url, COMPLETE_JOBS)
    baking = {m["name"] for m in data["models"]["nodes"] if (m["rollout"] or {}).get("state") == "BAKING"}
    return [n["id"] for n in data["trainingJobs"]["nodes"] if n["modelName"] not in baking]


def row_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


@dataclass
class Traffic:
    url: str
    jobs: list[str]
    targets: list[str]
    killing: threading.Event = field(default_factory=threading.Event)  # set just before the SIGKILL
    stop: threading.Event = field(default_factory=threading.Event)  # set just after it
    acknowledged: list[str] = field(default_factory=list)  # deployments whose deployJob answered success
    in_flight: int = 0
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    problems: list[str] = field(default_factory=list)

    def send(self, http: httpx.Client, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        """One request; None once the server is gone (the kill), and then this thread stops."""
        with self.lock:
            self.in_flight += 1
        try:
            response = http.post(self.url, json={"query": query, "variables": variables})
        except httpx.TransportError as exc:
            if not self.killing.is_set():  # cut off by the kill is expected, and acknowledges nothing
                self.problems.append(f"before the kill: {type(exc).__name__}: {exc}")
            return None
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            self.answered += 1
        if response.status_code != 200 or "errors" in response.json():
            self.problems.append(f"{response.status_code} {response.text[:300]}")
            return None
        return response.json()["data"]  # type: ignore[no-any-return]

    def deployer(self, number: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = number
            while not self.stop.is_set():
                data = self.send(http, DEPLOY, {"job": self.jobs[i % len(self.jobs)]})
                i += DEPLOYERS
                if data is None:
                    continue
                payload = data["deployJob"]
                if payload["errors"]:
                    self.problems.append(f"deployJob failed: {payload['errors']}")
                else:
                    with self.lock:
                        self.acknowledged.append(payload["deployment"]["id"])

    def toggler(self, number: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = number
            while not self.stop.is_set():
                target = self.targets[i % len(self.targets)]
                self.send(http, PAUSE if i % 2 else RESUME, {"id": target})
                i += 1


def run_until_killed(traffic: Traffic, kill_after: float, kill: Callable[[], None]) -> int:
    """Traffic from all threads; SIGKILL after `kill_after` s. Returns the requests in flight at the kill."""
    with ThreadPoolExecutor(DEPLOYERS + TOGGLERS) as pool:
        futures = [pool.submit(traffic.deployer, n) for n in range(DEPLOYERS)]
        futures += [pool.submit(traffic.toggler, n) for n in range(TOGGLERS)]
        time.sleep(kill_after)
        with traffic.lock:
            in_flight = traffic.in_flight
        traffic.killing.set()
        kill()
        traffic.stop.set()
        for future in futures:
            future.result(timeout=15)
    return in_flight


def test_sigkill_mid_stream_loses_no_acknowledged_deploy_and_leaves_no_half_deployment(
    tmp_path: Path,
) -> None:
    db = database_for_sync(tmp_path, "kill")
    acknowledged: list[str] = []
    for round_number, kill_after in enumerate(KILL_AFTER, start=1):
        with server_process(
            tmp_path, db, "--rollout-seconds", "0.3", log_name=f"server-{round_number}.log"
        ) as server:
            with httpx.Client(timeout=10) as http:
                jobs = deployable_jobs(http, server.graphql_url)
                targets = [
                    n["id"] for n in post(http, server.graphql_url, ACTIVE_OR_PAUSED)["deployments"]["nodes"]
                ]
            traffic = Traffic(server.graphql_url, jobs, targets[:4])
            in_flight = run_until_killed(traffic, kill_after, server.kill)
            log = server.log_text()
        print(
            f"round {round_number}: killed after {kill_after} s with {in_flight} requests in flight; "
            f"{traffic.answered} answered, {len(traffic.acknowledged)} deploys acknowledged"
        )
        assert not traffic.problems, f"{traffic.problems[:5]}\n{log[-3000:]}"
        assert traffic.acknowledged, "deploys were acknowledged before the kill"
        acknowledged += traffic.acknowledged

        # the file as the crash left it (opening it replays the WAL, as the restarted server will)
        deployments = read_deployments(db)
        problems = audit(deployments)
        assert not problems, f"after kill {round_number}:\n" + "\n".join(problems[:10])
        lost = [d for d in acknowledged if row_id(d) not in deployments]
        assert not lost, f"acknowledged deploys lost by kill {round_number}: {lost}"

    # a restart on the same file answers normally: the acknowledged deploys are there, and deploys go on
    with (
        server_process(tmp_path, db, "--rollout-seconds", "0.3", log_name="server-final.log") as server,
        httpx.Client(timeout=10) as http,
    ):
        for start in range(0, len(acknowledged), 100):
            ids = acknowledged[start : start + 100]
            found = post(
                http, server.graphql_url, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}
            )
            assert [n and n["id"] for n in found["nodes"]] == ids
        job = deployable_jobs(http, server.graphql_url)[0]
        payload = post(http, server.graphql_url, DEPLOY, {"job": job})["deployJob"]
        assert payload["errors"] == [] and payload["deployment"]["status"] == "DEPLOYING"
        assert http.get(f"{server.base_url}/readyz").status_code == 200
    assert not audit(read_deployments(db))


def post(http: httpx.Client, url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = http.post(url, json={"query": query, "variables": variables or {}})
    assert response.status_code == 200 and "errors" not in response.json(), response.text[:500]
    return response.json()["data"]  # type: ignore[no-any-return]
