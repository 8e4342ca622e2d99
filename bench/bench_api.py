"""Deployment table queries over a large fleet, through the ASGI app, in one process.

    python bench/bench_api.py [--deployments 100000] [--repeat 15]

Seeds a SQLite file with N deployments, then times `deployments(first: 50)` with every
metric field on each node, ordered by CREATED_AT (the baseline) and by P95_LATENCY, plus a
health filter, the summary stats, a 24-hour sparkline per node, and a poll in a new window
(the fleet's figures recomputed). bench_listing.py times every filter × ordering. Prints a
table with the ratio to the baseline measured in the same run.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.models import Deployment, DeploymentEvent, FleetState, TrainingJob
from server import create_app
from settings import Settings
from tests.support import complete_job, deployment_row

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
METRICS = "metrics { requestVolume p50Latency p95Latency p99Latency errorRate } health"
TABLE = f"""query($orderBy: [DeploymentOrder!], $filter: DeploymentFilter) {{
  deployments(first: 50, orderBy: $orderBy, filter: $filter) {{
    totalCount pageInfo {{ endCursor }} nodes {{ id modelName version status createdAt {METRICS} }} }} }}"""
# The table with a 24-hour sparkline per row (the cost limit's design case, schema/limits.py).
SPARKLINES = """query($orderBy: [DeploymentOrder!]) { deployments(first: 50, orderBy: $orderBy) {
  nodes { id metricsHistory(range: LAST_24_HOURS) { points { requestVolume p95Latency errorRate } } } } }"""
STATS = "{ deploymentStats { total byHealth { health count } totalRequestVolume p95Latency errorRate } }"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _rows(
    begin: int, end: int, sizes: tuple[str, ...], step: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, events = [], []
    for i in range(begin, end):
        job = i % 500
        created = NOW - timedelta(days=30) + timedelta(seconds=i * step)
        status = (
            "PAUSED"
            if i % 100 < 7
            else "FAILED"
            if i % 100 < 12
            else "DEPLOYING"
            if i % 100 < 15
            else "ACTIVE"
        )
        rows.append(
            deployment_row(
                i + 1,
                job + 1,
                f"model-{job}",
                i // 500,
                created,
                status=status,
                model_size=sizes[job % 3],
                activated_at=created + timedelta(minutes=2) if status in ("ACTIVE", "PAUSED") else None,
                rollout_due_at=NOW + timedelta(days=1) if status == "DEPLOYING" else None,
            )
        )
        if status == "PAUSED":
            events.append(
                dict(
                    deployment_id=i + 1,
                    kind="PAUSED",
                    from_status="ACTIVE",
                    to_status="PAUSED",
                    actor="bench",
                    at=NOW - timedelta(hours=i % 48),
                )
            )
    return rows, events


async def seed(app: Any, n: int) -> None:
    """N deployments over 500 models: 85 % active, 7 % paused, 5 % failed, 3 % deploying."""
    db = app.state.db
    sizes = ("NANO", "SMALL", "LARGE")
    async with db.write() as s:
        await s.execute(
            insert(TrainingJob),
            [
                complete_job(
                    id=j + 1,
                    model_name=f"model-{j}",
                    model_size=sizes[j % 3],
                    created_at=NOW - timedelta(days=40),
                )
                for j in range(500)
            ],
        )
        # Created over the 29 days before NOW (every 25 s at 100,000; closer together beyond).
        step = 25 * min(1.0, 100_000 / max(n, 1))
        # In chunks, so a million rows never sit in memory as dicts at once.
        for start in range(0, n, 20_000):
            rows, events = _rows(start, min(start + 20_000, n), sizes, step)
            await s.execute(insert(Deployment), rows)
            if events:
                await s.execute(insert(DeploymentEvent), events)
        await s.execute(FleetState.__table__.update().values(revision=1))


async def timed(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], repeat: int, clock: Clock | None = None
) -> list[float]:
    times = []
    for _ in range(repeat):
        if clock is not None:
            clock.now += timedelta(minutes=1)
        begin = time.perf_counter()
        response = await http.post("/graphql", json={"query": query, "variables": variables})
        times.append((time.perf_counter() - begin) * 1000)
        body = response.json()
        assert "errors" not in body, body["errors"]
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--db",
        help="an empty database URL to use instead of a temporary SQLite file, "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:55432/bench",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        app = create_app(Settings(db=args.db or str(Path(tmp) / "bench.db"), demo=False), clock=clock)
        async with app.router.lifespan_context(app):
            begin = time.perf_counter()
            await seed(app, args.deployments)
            seeded = time.perf_counter() - begin
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                cold = await timed(http, STATS, {}, 1)
                created = {"orderBy": [{"field": "CREATED_AT", "direction": "DESC"}]}
                p95 = {"orderBy": [{"field": "P95_LATENCY", "direction": "DESC"}]}
                cases = [
                    ("CREATED_AT DESC (baseline)", TABLE, created, None),
                    ("P95_LATENCY DESC", TABLE, p95, None),
                    (
                        "ERROR_RATE DESC, health in WARNING/CRITICAL",
                        TABLE,
                        {
                            "orderBy": [{"field": "ERROR_RATE", "direction": "DESC"}],
                            "filter": {"health": ["WARNING", "CRITICAL"]},
                        },
                        None,
                    ),
                    ("deploymentStats", STATS, {}, None),
                    ("a 24-hour sparkline per node, each poll in a new window", SPARKLINES, created, clock),
                    ("P95_LATENCY DESC, each poll in a new window", TABLE, p95, clock),
                ]
                results = []
                for name, query, variables, moving in cases:
                    await timed(http, query, variables, 2)  # warm-up
                    results.append((name, await timed(http, query, variables, args.repeat, moving)))
    baseline = statistics.median(results[0][1])
    print(
        f"\n{'PostgreSQL' if args.db and 'postgres' in args.db else 'SQLite'}: "
        f"{args.deployments:,} deployments (seeded in {seeded:.1f} s); first request loads the "
        f"fleet snapshot: {cold[0]:.0f} ms\n"
    )
    print(
        f"{'query (first: 50, metrics on every node)':<48} {'median ms':>10} {'p90 ms':>8} {'× baseline':>11}"
    )
    for name, times in results:
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{name:<48} {median:>10.1f} {p90:>8.1f} {median / baseline:>11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
