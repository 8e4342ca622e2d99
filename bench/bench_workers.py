"""Requests per second of `python server.py --workers N` on the demo data, for N in --workers (default 1 2).

Each run starts a fresh server on its own SQLite file (or --db URL), warms it, then runs --clients
threads, each with its own keep-alive connection, for --seconds, alternating the worker counts
--repeat times. Prints a table of the medians.

    python bench/bench_workers.py --workers 1 2 --clients 8 --seconds 10 --repeat 3
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUERY = """query Table { deployments(first: 20, orderBy: [{field: P95_LATENCY, direction: DESC}]) {
  totalCount nodes { id modelName version status health metrics { p50Latency p95Latency errorRate } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(workers: int, db: str, clients: int, seconds: float) -> float:
    port = free_port()
    command = [sys.executable, str(ROOT / "server.py"), "--port", str(port), "--db", db]
    command += ["--workers", str(workers), "--log-level", "warning", "--rate-limit-capacity", "0"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.post(url, json={"query": QUERY}, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        counts = [0] * clients
        stop = time.monotonic() + seconds + 1

        def client(i: int) -> None:
            with httpx.Client(timeout=30) as http:
                for _ in range(5):  # warm every worker's caches before counting
                    http.post(url, json={"query": QUERY})
                started.wait()
                while time.monotonic() < stop:
                    assert http.post(url, json={"query": QUERY}).status_code == 200
                    counts[i] += 1

        started = threading.Event()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        begin = time.monotonic()
        stop = begin + seconds
        started.set()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.monotonic() - begin)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="a database URL; default: a fresh SQLite file per run")
    args = parser.parse_args()
    results: dict[int, list[float]] = {n: [] for n in args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for n in args.workers:
                db = args.db or os.path.join(tmp, f"bench-{n}-{round_}.db")
                results[n].append(run(n, db, args.clients, args.seconds))
    base = statistics.median(results[args.workers[0]])
    print(f"| workers | req/s (median of {args.repeat}) | runs | × {args.workers[0]} worker(s) |")
    print("|---|---|---|---|")
    for n, values in results.items():
        runs = " / ".join(f"{v:.0f}" for v in values)
        print(f"| {n} | {statistics.median(values):.0f} | {runs} | {statistics.median(values) / base:.2f} |")


if __name__ == "__main__":
    main()
