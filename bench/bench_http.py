"""Deploydeck over real HTTP against a raw Starlette floor serving the same JSON page, in one run.

    python bench/bench_http.py [--deployments 100000] [--db URL] [--duration S] [--rounds N] [--against DIR]

Seeds a database with bench_api.py's fleet (a temporary SQLite file, or an empty `--db`; one
this bench seeded before with the same N is reused), then starts real server processes pinned
to core 0 (`taskset -c 0`, one uvicorn process each, uvloop + httptools): the floor
(bench/http_floor.py) and Deploydeck (`python server.py --no-demo`, budgets off, warnings-only
log; with `--no-response-cache` for the cold cases when server.py has that flag, and a second
process with the cache on for the polls). wrk drives them from core 1 (`wrk -c32 -t1`), case
after case, round after round (A B A B), and the table gives requests/s, p50/p99/max latency,
the server's CPU ms per request (utime + stime from /proc/<pid>/stat) and the ratio to the
floor's requests/s in the same round; then each server's RSS after warm-up. `--against DIR` also
runs DIR/server.py (another checkout, e.g. before a change) for the cold cases, alternating with ours.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_listing import seed_process  # noqa: E402

PAGE = (
    "query Page($filter: DeploymentFilter) { deployments(first: 50, "
    "orderBy: [{field: CREATED_AT, direction: DESC}], filter: $filter) { totalCount nodes { "
    "id modelName version status endpoint deployedBy modelSize createdAt updatedAt "
    "metrics { requestVolume p50Latency p95Latency p99Latency errorRate } } } }"
)
ACTIVE = {"filter": {"status": ["ACTIVE"]}}
LUA = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
{etag}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; unchanged = 0; other = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 304 then unchanged = unchanged + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("STATUS %d %d %d\\n", t:get("ok"), t:get("unchanged"), t:get("other")))
  end
end
"""


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@dataclass
class Case:
    name: str
    server: str
    method: str  # POST, or GET with If-None-Match
    variables: dict


CASES = [
    Case("floor: raw Starlette, same page", "floor", "POST", {}),
    Case("cold page, no filter", "cold", "POST", {}),
    Case("cold page, status ACTIVE", "cold", "POST", ACTIVE),
    Case("poll: the same POST repeated", "cached", "POST", {}),
    Case("poll: GET with If-None-Match", "cached", "GET", {}),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(name: str, argv: list[str], env: dict[str, str], log: Path) -> Server:
    port = _free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    with log.open("w") as out:
        process = subprocess.Popen(["taskset", "-c", "0", *argv], cwd=ROOT, env=env, stdout=out, stderr=out)
    server = Server(name, process, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{name} did not start:\n{log.read_text()[-3000:]}")


def _request(url: str, case: Case, etag: str | None = None) -> tuple[int, dict, str | None]:
    body = json.dumps({"query": PAGE, "variables": case.variables}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if case.method == "GET":
        query = urllib.parse.urlencode({"query": PAGE, "variables": json.dumps(case.variables)})
        request = urllib.request.Request(f"{url}?{query}", headers=headers)
    else:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read()), response.headers.get("ETag")


def _script(case: Case, etag: str | None, path: Path) -> Path:
    body = json.dumps({"query": PAGE, "variables": case.variables})
    if case.method == "GET":
        query = urllib.parse.urlencode({"query": PAGE, "variables": json.dumps(case.variables)})
        method, lua_body = '"GET"', "nil"
        extra = f'wrk.path = "/graphql?{query}"\nwrk.headers["If-None-Match"] = {json.dumps(etag)}'
    else:
        method, lua_body, extra = '"POST"', json.dumps(body), ""
    path.write_text(LUA.format(method=method, body=lua_body, etag=extra))
    return path


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:  # no request finished in the run: wrk prints no latencies
        return float("nan")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wrk(server: Server, case: Case, duration: float, script: Path) -> dict:
    etag = None
    if case.method == "GET":  # the tag of the current result (it moves with the metrics window)
        _, _, etag = _request(server.url, case)
    _script(case, etag, script)
    cpu = server.cpu_seconds()
    argv = ["taskset", "-c", "1", "wrk", "-c32", "-t1", f"-d{duration:g}s", "--timeout", "30s", "--latency"]
    out = subprocess.run([*argv, "-s", str(script), server.url], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"wrk failed: {out.stderr}{out.stdout}")
    cpu = server.cpu_seconds() - cpu
    text = out.stdout
    requests = int(re.search(r"(\d+) requests in", text)[1])  # type: ignore[index]
    ok, unchanged, other = map(int, re.search(r"STATUS (\d+) (\d+) (\d+)", text).groups())  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text)[1]),  # type: ignore[index]
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", text, re.M)[1]),  # type: ignore[index]
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M)[1]),  # type: ignore[index]
        "max": _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)[1]),  # type: ignore[index]
        "cpu_ms": 1000 * cpu / max(requests, 1),
        "statuses": (ok, unchanged, other),
        "errors": errors[1] if errors else "",
    }


def _check(servers: dict[str, Server]) -> None:
    """Every case answers a full page without errors, and the floor's page is Deploydeck's."""
    for name in ("cold", "cached", "before"):  # the first request settles the seed's due rollouts (a few s)
        for _ in range(20 if name in servers else 0):
            if "errors" not in _request(servers[name].url, CASES[1])[1]:
                break
    for case in CASES:
        status, body, _ = _request(servers[case.server].url, case)
        assert status == 200 and "errors" not in body, (case.name, body.get("errors"))
        assert len(body["data"]["deployments"]["nodes"]) == 50, case.name
    for _ in range(3):  # the metrics window may turn between the two requests
        _, floor, _ = _request(servers["floor"].url, CASES[0])
        _, ours, _ = _request(servers["cold"].url, CASES[1])
        if floor["data"] == ours["data"]:
            print("check: the floor's page equals Deploydeck's (data, every field and figure)")
            return
    raise SystemExit("the floor's page differs from Deploydeck's: the floor would not be the same work")


def _seeded(url: str) -> int:
    """Deployments already in the database (0 when it has no tables yet)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from db.engines import database_url

    async def count() -> int:
        engine = create_async_engine(database_url(url))
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT count(*) FROM deployments"))).scalar_one()
        except Exception:
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(count())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--db", help="an empty database URL (or one seeded by this bench with the same N)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of wrk per case before round 1")
    parser.add_argument("--against", type=Path, help="a checkout whose server.py runs the cold cases too")
    args = parser.parse_args()
    if args.against:
        global CASES
        before = [Case(f"before: {c.name[:26]}", "before", c.method, c.variables) for c in CASES[1:3]]
        CASES = [CASES[0], CASES[1], before[0], CASES[2], before[1], *CASES[3:]]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = args.db or str(tmp / "bench.db")
        have = _seeded(url)
        if have != args.deployments:
            if have:
                raise SystemExit(f"{url} holds {have} deployments, not {args.deployments}: give an empty one")
            begin = time.perf_counter()
            process = multiprocessing.get_context("spawn").Process(
                target=seed_process, args=(url, args.deployments)
            )
            process.start()
            process.join()
            if process.exitcode:
                raise SystemExit("seeding failed")
            print(f"seeded {args.deployments:,} deployments in {time.perf_counter() - begin:.0f} s")
        run(url, args, tmp)


def run(url: str, args: argparse.Namespace, tmp: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.http_floor:app", "--port", "{port}"]
    uvicorn += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    server = [sys.executable, "server.py", "--db", url, "--no-demo", "--port", "{port}"]
    server += ["--rate-limit-capacity", "0", "--log-level", "warning"]
    has_flag = (
        "--no-response-cache"
        in subprocess.run(
            [sys.executable, "server.py", "--help"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    )
    servers = {"floor": _start("floor", uvicorn, env, tmp / "floor.log")}
    cold = server + (["--no-response-cache"] if has_flag else [])
    servers["cold"] = _start("cold", cold, env, tmp / "cold.log")
    servers["cached"] = _start("cached", server, env, tmp / "cached.log") if has_flag else servers["cold"]
    if args.against:  # its own modules: the script's directory comes first on sys.path
        against = [a.replace("server.py", str(args.against.resolve() / "server.py")) for a in cold]
        if (
            "--no-response-cache"
            not in subprocess.run(
                [sys.executable, against[1], "--help"], capture_output=True, text=True
            ).stdout
        ):
            against = [a for a in against if a != "--no-response-cache"]
        servers["before"] = _start("before", against, env, tmp / "before.log")
    engine = "PostgreSQL" if "postgres" in url else "SQLite"
    print(f"{engine}, {args.deployments:,} deployments; server.py --no-response-cache: {has_flag}")
    try:
        _check(servers)
        script = tmp / "case.lua"
        for case in CASES:  # warm-up: every cache and code path the rounds will use
            _wrk(servers[case.server], case, args.warmup, script)
        rss = {name: s.rss_mb() for name, s in servers.items()}
        results: dict[str, list[dict]] = {case.name: [] for case in CASES}
        header = f"{'case':<34}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'CPU ms':>8}{'× floor':>9}"
        for r in range(args.rounds):
            print(f"\nround {r + 1}\n{header}")
            for case in CASES:
                result = _wrk(servers[case.server], case, args.duration, script)
                results[case.name].append(result)
                result["ratio"] = result["rps"] / results[CASES[0].name][r]["rps"]  # the floor runs first
                _print(case.name, result)
        print(f"\nmedian of {args.rounds} rounds (ratio: each round's against that round's floor)\n{header}")
        for case in CASES:
            rows = results[case.name]
            median = {k: statistics.median(row[k] for row in rows) for k in ("rps", "p50", "p99", "cpu_ms")}
            median["max"] = max(row["max"] for row in rows)
            median["ratio"] = statistics.median(row["ratio"] for row in rows)
            median["statuses"] = tuple(sum(row["statuses"][i] for row in rows) for i in range(3))
            median["errors"] = "; ".join(row["errors"] for row in rows if row["errors"])
            _print(case.name, median)
        after = {name: s.rss_mb() for name, s in servers.items()}
        for name in dict.fromkeys(servers):
            print(f"RSS {name}: {rss[name]:.0f} MB after warm-up, {after[name]:.0f} MB at the end")
    finally:
        for s in {id(s): s for s in servers.values()}.values():
            s.process.terminate()
            s.process.wait(30)


def _print(name: str, r: dict) -> None:
    _ok, unchanged, other = r["statuses"]
    notes = f"  ({unchanged} × 304)" if unchanged else ""
    notes += f"  {other} other statuses!" if other else ""
    notes += f"  socket errors: {r['errors']}" if r["errors"] else ""
    print(
        f"{name:<34}{r['rps']:>8.1f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['max']:>9.1f}"
        f"{r['cpu_ms']:>8.2f}{r['ratio']:>8.2f}×{notes}"
    )


if __name__ == "__main__":
    main()
