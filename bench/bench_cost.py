"""The most expensive requests that still fit the cost budget, over a large fleet.

    python bench/bench_cost.py [--deployments 100000] [--repeat 5]

For each shape that multiplies work (nested connections, history series, loss curves,
`nodes(ids)`), grows its size until one more step would be over `max_cost`, then times it
through the ASGI app beside the dashboard's 50-row page (the baseline, same run, cases
alternated). Each of them must answer well under a second.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from graphql import parse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_api import METRICS, TABLE, Clock, seed, timed

from schema import schema
from schema.cost import operation_cost
from schema.limits import Limits
from server import create_app
from settings import Settings

POINT = "timestamp requestVolume p50Latency p95Latency p99Latency errorRate"
SHAPES: dict[str, Callable[[int], str]] = {
    "rows × (metrics, health, 24 h history)": lambda n: (
        f"{{ deployments(first: {n}) {{ nodes {{ id modelName {METRICS} "
        f"metricsHistory(range: LAST_24_HOURS) {{ points {{ {POINT} }} }} }} }} }}"
    ),
    "rows × 7-day history": lambda n: (
        f"{{ deployments(first: {n}) {{ nodes {{ id metricsHistory(range: LAST_7_DAYS) "
        f"{{ points {{ timestamp p95Latency }} }} }} }} }}"
    ),
    "100 jobs × n deployments (nested)": lambda n: (
        f"{{ trainingJobs(first: 100) {{ nodes {{ id modelName deployments(first: {n}) "
        f"{{ nodes {{ id modelName version status createdAt }} }} }} }} }}"
    ),
    "100 jobs × lossHistory(points: n)": lambda n: (
        f"{{ trainingJobs(first: 100) {{ nodes {{ id lossHistory(points: {n}) "
        "{ progress epoch loss } } } }"
    ),
}
START = {  # smallest and largest size each shape is tried at
    "rows × (metrics, health, 24 h history)": 10,
    "rows × 7-day history": 10,
    "100 jobs × n deployments (nested)": 1,
    "100 jobs × lossHistory(points: n)": 2,
}
STOP = {
    "rows × (metrics, health, 24 h history)": 100,
    "rows × 7-day history": 100,
    "100 jobs × n deployments (nested)": 100,
    "100 jobs × lossHistory(points: n)": 500,
}


def cost(query: str) -> int:
    return operation_cost(schema._schema, parse(query), None, {})


def largest_fitting(shape: Callable[[int], str], start: int, stop: int, budget: int) -> tuple[int, int]:
    """The largest size in [start, stop] whose query fits the budget, and its cost."""
    best = start
    for n in range(start, stop + 1):
        if cost(shape(n)) > budget:
            break
        best = n
    return best, cost(shape(best))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    budget = Limits().max_cost
    baseline_query = TABLE.replace("($orderBy: [DeploymentOrder!], $filter: DeploymentFilter)", "").replace(
        "(first: 50, orderBy: $orderBy, filter: $filter)", "(first: 50)"
    )
    cases = [("dashboard page: first 50, metrics (baseline)", baseline_query, cost(baseline_query), 0)]
    for name, shape in SHAPES.items():
        size, fitting = largest_fitting(shape, START[name], STOP[name], budget)
        label = name.replace(" n ", f" {size} ").replace("n)", f"{size})").replace("rows", f"{size} rows", 1)
        cases.append((label, shape(size), fitting, size))
    with tempfile.TemporaryDirectory() as tmp:
        # Budgets off: a benchmark is a loop of expensive queries from one client, by design.
        app = create_app(
            Settings(db=str(Path(tmp) / "bench.db"), demo=False, rate_limit_capacity=0), clock=Clock()
        )
        async with app.router.lifespan_context(app):
            await seed(app, args.deployments)
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=60)
            async with client as http:
                times: dict[str, list[float]] = {name: [] for name, *_ in cases}
                for _, query, *_ in cases:  # warm-up: snapshot, parser and validation caches
                    await timed(http, query, {}, 1)
                for _ in range(args.repeat):  # alternate the cases: A B C A B C
                    for name, query, *_ in cases:
                        times[name].append((await timed(http, query, {}, 1))[0])
    baseline = statistics.median(times[cases[0][0]])
    print(f"\nSQLite: {args.deployments:,} deployments; budget (max_cost) {budget:,}\n")
    print(f"{'request':<52} {'cost':>8} {'median ms':>10} {'max ms':>8} {'× baseline':>11}")
    for name, _, fitting, _ in cases:
        median = statistics.median(times[name])
        print(f"{name:<52} {fitting:>8,} {median:>10.1f} {max(times[name]):>8.1f} {median / baseline:>11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
