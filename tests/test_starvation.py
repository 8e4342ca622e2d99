"""No request starves the server: cheap queries get through while the costliest allowed ones run.

Four clients loop over the most expensive requests the cost limit still allows (each shape of
bench/bench_cost.py grown until one more step would be over `max_cost`) against a live server
holding enough rows for them to be expensive (100 jobs × 70 deployments). Meanwhile a fifth client
asks `{ serverTime }` every 50 ms. Its p99 must stay under 0.5 s, the bar of the issue: before
lists yielded to the event loop it waited behind 0.2–0.6 s synchronous stretches, several in a row.
"""

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from graphql import parse
from sqlalchemy import insert

from db.models import Deployment, DeploymentEvent, FleetState, TrainingJob
from schema import schema
from schema.cost import operation_cost
from schema.limits import Limits
from server import create_app
from settings import Settings
from tests.databases import database_for_sync
from tests.process import live_server
from tests.support import complete_job, deployment_row

pytestmark = pytest.mark.e2e

JOBS, PER_JOB = 100, 70
HEAVY_CLIENTS = 4
PROBES = 100  # the loop ends itself: after this many probes, or MAX_SECONDS
MAX_SECONDS = 20
PROBE_EVERY = 0.05
P99_BOUND = 0.5  # the bar

POINT = "timestamp requestVolume p50Latency p95Latency p99Latency errorRate"
METRICS = "metrics { requestVolume p50Latency p95Latency p99Latency errorRate } health"
SHAPES = {
    "rows x (metrics, health, 24 h history)": lambda n: (
        f"{{ deployments(first: {n}) {{ nodes {{ id modelName {METRICS} "
        f"metricsHistory(range: LAST_24_HOURS) {{ points {{ {POINT} }} }} }} }} }}"
    ),
    "100 jobs x n deployments": lambda n: (
        f"{{ trainingJobs(first: 100) {{ nodes {{ id modelName deployments(first: {n}) "
        "{ nodes { id modelName version status createdAt } } } } }"
    ),
    "100 jobs x lossHistory(points: n)": lambda n: (
        f"{{ trainingJobs(first: 100) {{ nodes {{ id lossHistory(points: {n}) {{ progress epoch loss }} }} }} }}"
    ),
}


def largest_fitting(shape, budget: int, stop: int) -> str:  # type: ignore[no-untyped-def]
    best = shape(2)
    for n in range(2, stop + 1):
        query = shape(n)
        if operation_cost(schema._schema, parse(query), None, {}) > budget:
            break
        best = query
    return best


def seed(tmp_path: Path) -> None:
    """JOBS complete jobs with PER_JOB active deployments each, written before the server starts."""
    now = datetime.now(UTC)
    url = database_for_sync(tmp_path)  # the database live_server will use

    async def write() -> None:
        app = create_app(Settings(db=url, demo=False))
        async with app.router.lifespan_context(app), app.state.db.write() as s:
            await s.execute(
                insert(TrainingJob),
                [
                    complete_job(
                        id=j + 1,
                        model_name=f"model-{j}",
                        model_size="SMALL",
                        created_at=now - timedelta(days=40),
                        started_at=now - timedelta(days=40),
                        completed_at=now - timedelta(days=39),
                    )
                    for j in range(JOBS)
                ],
            )
            rows = []
            for i in range(JOBS * PER_JOB):
                job = i % JOBS
                created = now - timedelta(days=30) + timedelta(seconds=i * 60)
                rows.append(deployment_row(i + 1, job + 1, f"model-{job}", i // JOBS, created))
            await s.execute(insert(Deployment), rows)
            await s.execute(
                insert(DeploymentEvent),
                [
                    dict(
                        deployment_id=r["id"],
                        kind="CREATED",
                        to_status="DEPLOYING",
                        actor="seed",
                        at=r["created_at"],
                    )
                    for r in rows
                ],
            )
            await s.execute(FleetState.__table__.update().values(revision=1))

    asyncio.run(write())


def _server_pid(base_url: str) -> int | None:
    port = base_url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"server.py") for a in argv) and port.encode() in argv:
            return int(proc.name)
    return None


@contextmanager
def server_and_clients_apart(base_url: str) -> Iterator[None]:
    """The server on one core, this process (the five clients) on another: what is measured is the
    server's event loop, not the clients decoding 2 MB answers beside it on the same core."""
    pid = _server_pid(base_url)
    cores = sorted(os.sched_getaffinity(0))
    if pid is None or len(cores) < 2:
        yield
        return
    os.sched_setaffinity(pid, {cores[-1]})
    os.sched_setaffinity(0, set(cores[:-1]))
    try:
        yield
    finally:
        os.sched_setaffinity(0, set(cores))


def test_cheap_queries_answer_within_half_a_second_while_the_costliest_run(tmp_path: Path) -> None:
    seed(tmp_path)
    budget = Limits().max_cost
    heavy = [largest_fitting(shape, budget, 500 if "loss" in name else 100) for name, shape in SHAPES.items()]
    done = threading.Event()
    heavy_done: list[float] = []
    failures: list[str] = []
    # Budgets off and a long deadline: this measures the event loop while the costliest requests run to
    # the end, not the rate limit or the deadline, which would stop them (and are tested on their own).
    # The response cache off too: it would answer the repeated heavy queries from memory after the first.
    flags = ("--no-demo", "--rate-limit-capacity", "0", "--request-timeout", "30", "--no-response-cache")
    with live_server(tmp_path, *flags) as base_url, server_and_clients_apart(base_url):

        def hammer(offset: int) -> None:
            with httpx.Client(base_url=base_url, timeout=30) as http:
                i = offset
                while not done.is_set():
                    started = time.monotonic()
                    response = http.post("/graphql", json={"query": heavy[i % len(heavy)]})
                    body = orjson.loads(response.content)  # ~2 MB: the stdlib would hold the GIL 25 ms
                    if response.status_code != 200 or "errors" in body:
                        failures.append(f"{response.status_code} {str(body.get('errors'))[:300]}")
                    heavy_done.append(time.monotonic() - started)
                    i += 1

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(HEAVY_CLIENTS)]
        for thread in threads:
            thread.start()
        latencies: list[float] = []
        try:
            with httpx.Client(base_url=base_url, timeout=30) as probe:
                time.sleep(0.5)  # the heavy loops are under way
                give_up = time.monotonic() + MAX_SECONDS
                while len(latencies) < PROBES and time.monotonic() < give_up:
                    started = time.monotonic()
                    answer = probe.post("/graphql", json={"query": "{ serverTime }"})
                    latencies.append(time.monotonic() - started)
                    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
                    time.sleep(PROBE_EVERY)
        finally:
            done.set()
            for thread in threads:
                thread.join()
    assert not failures, failures[:3]
    assert len(heavy_done) >= HEAVY_CLIENTS, "the expensive requests must actually have run"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"\n{len(heavy_done)} heavy requests (median {statistics.median(heavy_done):.2f} s); "
        f"{len(latencies)} probes: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p90 {ordered[int(len(ordered) * 0.9)] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"slowest {[round(t * 1000) for t in ordered[-5:]]} ms"
    )
    assert p99 < P99_BOUND, f"{{ serverTime }} p99 {p99:.2f} s while the costliest requests ran"
