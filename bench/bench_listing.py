"""Every deployments filter × ordering × direction at fleet scale, and the memory it takes.

    taskset -c 1 python bench/bench_listing.py [--deployments 100000] [--repeat 3] [--db URL] [--million]

Seeds a database with bench_api.py's fleet (in a process of its own), then, in a fresh process
that never held the seed rows, times the first page (`first: 50`, metrics and health on every
node, totalCount) of every filter and pair of filters × every ordering × both directions,
through the ASGI app. Cases alternate (round after round, the baseline — no filter,
CREATED_AT DESC — every tenth case), so drift on a shared machine hits all of them alike.
Prints the matrix as ratios to the baseline's median, then the process's RSS after warm-up.
`--million` also seeds 1,000,000 deployments (SQLite) and reports load time, RSS and a
metric-ordered page.
"""

import argparse
import asyncio
import base64
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_api import NOW, TABLE, Clock, seed
from resolvers import listing_keys
from server import create_app
from settings import Settings


def _job(n: int) -> str:
    return base64.b64encode(f"TrainingJob:{n}".encode()).decode()


def _at(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "status ACTIVE": {"status": ["ACTIVE"]},
    "status PAUSED/FAILED": {"status": ["PAUSED", "FAILED"]},
    "modelName model-42": {"modelName": "model-42"},
    "size LARGE": {"modelSize": ["LARGE"]},
    "health WARN/CRIT": {"health": ["WARNING", "CRITICAL"]},
    "trainingJob 7": {"trainingJobId": _job(7)},
    "created last 7 days": {"createdAfter": _at(7)},
    "created 20-10 days ago": {"createdAfter": _at(20), "createdBefore": _at(10)},
    "status + size": {"status": ["ACTIVE"], "modelSize": ["NANO"]},
    "status + modelName": {"status": ["PAUSED"], "modelName": "model-1"},
    "status + health": {"status": ["ACTIVE"], "health": ["HEALTHY"]},
    "size + health": {"modelSize": ["SMALL"], "health": ["WARNING", "CRITICAL"]},
    "created + status": {"createdAfter": _at(3), "status": ["DEPLOYING", "FAILED"]},
    "job + status": {"trainingJobId": _job(42), "status": ["ACTIVE"]},
    "modelName + created": {"modelName": "model-3", "createdBefore": _at(25)},
}
FIELDS = tuple(listing_keys.FIELDS)  # every orderable field
SHORT = {"CREATED_AT": "crea", "UPDATED_AT": "upd", "MODEL_NAME": "name", "VERSION": "ver", "STATUS": "stat"}
SHORT |= {"REQUEST_VOLUME": "vol", "P50_LATENCY": "p50", "P95_LATENCY": "p95", "P99_LATENCY": "p99"}
SHORT |= {"ERROR_RATE": "err"}
BASELINE = ("none", "CREATED_AT", "DESC")


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _variables(case: tuple[str, str, str]) -> dict[str, Any]:
    name, field, direction = case
    return {"filter": FILTERS[name], "orderBy": [{"field": field, "direction": direction}]}


async def _post(http: httpx.AsyncClient, variables: dict[str, Any]) -> float:
    begin = time.perf_counter()
    response = await http.post("/graphql", json={"query": TABLE, "variables": variables})
    elapsed = (time.perf_counter() - begin) * 1000
    body = response.json()
    assert "errors" not in body, body["errors"]
    return elapsed


async def _seed(url: str, n: int) -> None:
    app = create_app(Settings(db=url, demo=False), clock=Clock())
    async with app.router.lifespan_context(app):
        await seed(app, n)


def seed_process(url: str, n: int) -> None:
    asyncio.run(_seed(url, n))


async def _measure(url: str, n: int, repeat: int, matrix: bool) -> None:
    begin = time.perf_counter()
    clock = Clock()
    app = create_app(Settings(db=url, demo=False), clock=clock)
    async with app.router.lifespan_context(app):  # migrations check + fleet snapshot load
        loaded = time.perf_counter() - begin
        rss_loaded, _ = _rss_mb()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            if matrix:
                cases = [(f, o, d) for f in FILTERS for o in FIELDS for d in ("ASC", "DESC")]
            else:
                cases = [BASELINE, ("none", "P95_LATENCY", "DESC"), ("status ACTIVE", "P95_LATENCY", "DESC")]
            first_ms = {case: await _post(http, _variables(case)) for case in cases}  # warm-up
            times: dict[tuple[str, str, str], list[float]] = {case: [] for case in cases}
            for _ in range(repeat):
                for k, case in enumerate(cases):
                    if k % 10 == 0:
                        times[BASELINE].append(await _post(http, _variables(BASELINE)))
                    times[case].append(await _post(http, _variables(case)))
            rss, peak = _rss_mb()
            # Then every per-window cache full: metric orders and health filters in later windows.
            for _ in range(6):
                clock.now += timedelta(minutes=1)
                for case in [("health WARN/CRIT", "P95_LATENCY", "DESC"), ("none", "ERROR_RATE", "ASC")]:
                    await _post(http, _variables(case))
            rss_full, peak = _rss_mb()
    _report(url, n, loaded, (rss_loaded, rss, rss_full, peak), times, first_ms, matrix)


def _report(
    url: str,
    n: int,
    loaded: float,
    rss_mb: tuple[float, float, float, float],
    times: dict[tuple[str, str, str], list[float]],
    first_ms: dict[tuple[str, str, str], float],
    matrix: bool,
) -> None:
    engine = "PostgreSQL" if "postgres" in url else "SQLite"
    baseline = statistics.median(times[BASELINE])
    ratios = {case: statistics.median(t) / baseline for case, t in times.items()}
    print(f"\n{engine}, {n:,} deployments: snapshot loaded in {loaded:.1f} s")
    rss_loaded, rss, rss_full, peak = rss_mb
    print(f"RSS {rss_loaded:.0f} MB loaded, {rss:.0f} MB after warm-up and every case, {rss_full:.0f} MB")
    print(f"with figures, health and orders cached for several windows (peak {peak:.0f} MB)")
    print(f"baseline (no filter, CREATED_AT DESC, first: 50 with metrics): {baseline:.1f} ms median\n")
    if matrix:
        header = "".join(f"{SHORT[f] + d[0].lower():>7}" for f in FIELDS for d in ("ASC", "DESC"))
        print(f"{'× baseline':<24}{header}")
        for name in FILTERS:
            cells = "".join(f"{ratios[(name, f, d)]:>7.2f}" for f in FIELDS for d in ("ASC", "DESC"))
            print(f"{name:<24}{cells}")
    worst = sorted(ratios.items(), key=lambda item: -item[1])[:5]
    over = sum(r > 2 for r in ratios.values())
    print(
        f"\n{len(ratios)} cases: median {statistics.median(ratios.values()):.2f}×, "
        f"max {worst[0][1]:.2f}×, {over} over 2×; slowest:"
    )
    for case, ratio in worst:
        print(f"  {' / '.join(case):<48} {statistics.median(times[case]):7.1f} ms {ratio:5.2f}×")
    slow_first = max(first_ms.items(), key=lambda item: item[1])
    print(f"slowest first (cold) request: {' / '.join(slow_first[0])} {slow_first[1]:.0f} ms")


def measure_process(url: str, n: int, repeat: int, matrix: bool) -> None:
    asyncio.run(_measure(url, n, repeat, matrix))


def _run(target: Any, *args: Any) -> float:
    """Run `target(*args)` in a fresh process (spawned: it inherits no memory); seconds taken."""
    begin = time.perf_counter()
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed ({process.exitcode})")
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="an empty database URL instead of a temporary SQLite file")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 deployments (SQLite)")
    parser.add_argument("--no-matrix", action="store_true", help="only load, memory and three pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or str(Path(tmp) / "bench.db")
        seeded = _run(seed_process, url, args.deployments)
        print(f"seeded {args.deployments:,} deployments in {seeded:.0f} s")
        _run(measure_process, url, args.deployments, args.repeat, not args.no_matrix)
        if args.million:
            big = str(Path(tmp) / "million.db")
            print(f"\nseeded 1,000,000 deployments in {_run(seed_process, big, 1_000_000):.0f} s")
            _run(measure_process, big, 1_000_000, args.repeat, False)


if __name__ == "__main__":
    main()
