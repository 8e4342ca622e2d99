"""The API as its users meet it, this checkout against another one, each request in a new window.

    python bench/bench_against.py DIR [--deployments 100000] [--repeat 9] [--rounds 3]

DIR is another checkout, e.g. the one before the load model (`git archive 1a10e9d | tar -x -C DIR`).
Each round seeds and measures DIR, then this checkout, each in a fresh process pinned to one core
(`taskset -c 1`; requests go through the ASGI app in that process, as in bench_api.py): a
deployment's page with each chart range, a table with a 24-hour sparkline per row (10 rows: the
most DIR's limits may allow), a 50-row table ordered by P95 latency, and `deploymentStats`. The
clock moves a minute before every request, so the simulator computes every figure afresh: no
response or figures cache serves a request. Prints the median per case (of the rounds' medians),
this checkout's time over DIR's, and the ratio's range over the rounds.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
METRICS = "metrics { requestVolume p50Latency p95Latency p99Latency errorRate } health"
POINTS = "points { timestamp requestVolume p50Latency p95Latency p99Latency errorRate }"
PAGE = f"""query($id: ID!, $range: MetricsRange) {{ deployment(id: $id) {{
  id status {METRICS} metricsHistory(range: $range) {{ {POINTS} }} }} }}"""
SPARKLINES = """{ deployments(first: 10, orderBy: [{field: CREATED_AT, direction: DESC}]) {
  nodes { id metricsHistory(range: LAST_24_HOURS) { points { requestVolume p95Latency errorRate } } } } }"""
TABLE = f"""{{ deployments(first: 50, orderBy: [{{field: P95_LATENCY, direction: DESC}}]) {{
  totalCount nodes {{ id modelName version status createdAt {METRICS} }} }} }}"""
STATS = "{ deploymentStats { total byHealth { health count } totalRequestVolume p95Latency errorRate } }"
IDS = "{ deployments(first: 50, filter: {status: [ACTIVE]}) { nodes { id } } }"

CASES: list[tuple[str, str, str | None]] = [  # name, query, the page's chart range
    *((f"a deployment's page, {r} chart", PAGE, r) for r in ("LAST_HOUR", "LAST_24_HOURS", "LAST_7_DAYS")),
    ("a deployment's page, LAST_30_DAYS chart", PAGE, "LAST_30_DAYS"),
    ("10 rows with a 24-hour sparkline each", SPARKLINES, None),
    ("50 rows by P95_LATENCY DESC, metrics and health", TABLE, None),
    ("deploymentStats", STATS, None),
]


async def measure(tree: Path, n: int, repeat: int) -> dict[str, float]:
    """Median ms per case for the checkout at `tree` (its own server, schema and bench_api seed)."""
    sys.path[:0] = [str(tree), str(tree / "bench")]
    import bench_api  # the tree's: its fleet seeded into its own tables

    from server import create_app
    from settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        clock = bench_api.Clock()
        app = create_app(Settings(db=str(Path(tmp) / "bench.db"), demo=False), clock=clock)
        async with app.router.lifespan_context(app):
            await bench_api.seed(app, n)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:

                async def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                    body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
                    if body.get("errors") or not body.get("data"):
                        raise SystemExit(f"{tree}: {body}")
                    return body["data"]

                ids = [node["id"] for node in (await post(IDS, {}))["deployments"]["nodes"]]
                medians = {}
                for name, query, chart in CASES:
                    times = []
                    for k in range(repeat + 2):  # the first two warm up
                        clock.now += timedelta(minutes=1)
                        variables = {"id": ids[k % len(ids)], "range": chart} if chart else {}
                        begin = time.perf_counter()
                        await post(query, variables)
                        times.append((time.perf_counter() - begin) * 1000)
                    medians[name] = statistics.median(times[2:])
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("against", type=Path, help="the other checkout (its server.py, schema and bench/)")
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9, help="requests per case, after two warm-up ones")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of DIR then this checkout")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # a child process: one tree
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure.resolve(), args.deployments, args.repeat))))
        return
    runs: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
    for _ in range(args.rounds):
        for side, tree in (("before", args.against.resolve()), ("now", ROOT)):
            argv = ["taskset", "-c", "1", sys.executable, __file__, str(args.against), "--measure", str(tree)]
            argv += ["--deployments", str(args.deployments), "--repeat", str(args.repeat)]
            out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=tree).stdout
            runs[side].append(json.loads(out.strip().splitlines()[-1]))
    print(f"\n{args.deployments:,} deployments, each request in a new window; {args.rounds} rounds of")
    print(f"{args.against} then this checkout, median of {args.repeat} requests per case and round\n")
    print(f"{'case':52s} {'before ms':>9s} {'now ms':>8s} {'now/before':>10s} {'range':>11s}")
    for name, _, _ in CASES:
        before = [run[name] for run in runs["before"]]
        now = [run[name] for run in runs["now"]]
        ratios = [a / b for a, b in zip(now, before, strict=True)]
        low, high = min(ratios), max(ratios)
        print(
            f"{name:52s} {statistics.median(before):9.1f} {statistics.median(now):8.1f} "
            f"{statistics.median(ratios):10.2f} {low:5.2f}-{high:.2f}"
        )


if __name__ == "__main__":
    main()
