"""`server.py` as a user starts it, in a subprocess on a free port, and an audit of its database.

Every test over a real socket starts the server here: `python server.py` on a free loopback port
with its output in a log file, always stopped on exit. `live_server` yields only its URL;
`server_process` the process too, for the reliability tests that SIGKILL or SIGTERM it.
"""

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.databases import database_for_sync, query_rows

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "server.py"

# A token long enough for web.auth (at least 16 characters); only ever sent to 127.0.0.1.
TOKEN_NAME = "ci-bot"
TOKEN = "ci-bot-token-0123456789abcdef"
TOKENS_ENV = {"DEPLOYDECK_TOKENS": f"{TOKEN_NAME}={TOKEN}"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path
    command: list[str]

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait; SIGKILL when it does not exit in time. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def server_command(db: Path | str, port: int, *flags: str) -> list[str]:
    return [
        sys.executable,
        str(SERVER),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        str(db),
        "--log-level",
        "warning",
        *flags,  # later flags win
    ]


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the server's own settings (a developer's shell may set some)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYDECK_") and k != "DATABASE_URL"}
    return {**clean, **(extra or {})}


def run_server_command(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run `python server.py <args>` to completion (for the ones that must refuse to start)."""
    return subprocess.run(
        [sys.executable, str(SERVER), *args],
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def answers(base_url: str) -> bool:
    try:
        response = httpx.post(f"{base_url}/graphql", json={"query": "{ serverTime }"}, timeout=2)
    except httpx.TransportError:
        return False
    return response.status_code == 200


@contextmanager
def live_server(
    tmp_path: Path, *flags: str, env: Mapping[str, str] | None = None, startup_timeout: float = 30
) -> Iterator[str]:
    """`python server.py` with its database in `tmp_path` and extra `flags`; yields its base URL.

    The base URL is `http://127.0.0.1:<port>` (GraphQL at `/graphql`). The server's output goes to
    `tmp_path / "server.log"`, quoted when it does not come up. `--db` among the flags wins.
    """
    db = database_for_sync(tmp_path)
    with server_process(tmp_path, db, *flags, env=env, startup_timeout=startup_timeout) as server:
        yield server.base_url


@contextmanager
def server_process(
    tmp_path: Path,
    db: Path | str,
    *flags: str,
    env: Mapping[str, str] | None = None,
    log_name: str = "server.log",
    startup_timeout: float = 30,
) -> Iterator[ServerProcess]:
    """Start `python server.py` on `db` and wait until it answers; always reaped on exit."""
    with servers_started_together(
        tmp_path, db, 1, *flags, env=env, log_name=log_name, startup_timeout=startup_timeout
    ) as (server,):
        yield server


@contextmanager
def servers_started_together(
    tmp_path: Path,
    db: Path | str,
    count: int,
    *flags: str,
    env: Mapping[str, str] | None = None,
    log_name: str = "server.log",
    startup_timeout: float = 30,
) -> Iterator[list[ServerProcess]]:
    """Start `count` processes of `python server.py` on `db` at once, then wait until each answers."""
    servers: list[ServerProcess] = []
    try:
        for i in range(count):
            port = free_port()
            command = server_command(db, port, *flags)
            log = tmp_path / (log_name if count == 1 else f"{i}-{log_name}")
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    command, cwd=tmp_path, env=environment(env), stdout=out, stderr=subprocess.STDOUT
                )
            servers.append(ServerProcess(proc, f"http://127.0.0.1:{port}", log, command))
        deadline = time.monotonic() + startup_timeout
        for server in servers:
            while not answers(server.base_url):
                if server.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server.py did not start ({' '.join(server.command)}):\n{server.log_text()}"
                    )
                time.sleep(0.05)
        yield servers
    finally:
        for server in servers:
            server.stop()


# --- the audit of a database file, read directly with the stdlib (the server must be stopped) ---

# (kind, from_status, to_status) of every legal audit-trail step; DELETED goes to None.
LEGAL_STEPS = {
    ("CREATED", None, "DEPLOYING"),
    ("ACTIVATED", "DEPLOYING", "ACTIVE"),
    ("FAILED", "DEPLOYING", "FAILED"),
    ("PAUSED", "ACTIVE", "PAUSED"),
    ("RESUMED", "PAUSED", "ACTIVE"),
    ("DELETED", "PAUSED", None),
    ("DELETED", "FAILED", None),
    # A version's share of its model's traffic changed; its status did not.
    ("TRAFFIC_CHANGED", "ACTIVE", "ACTIVE"),
    ("TRAFFIC_CHANGED", "PAUSED", "PAUSED"),
    # An alias of its model was set on it or removed from it.
    *(
        (kind, status, status)
        for kind in ("ALIAS_SET", "ALIAS_REMOVED")
        for status in ("DEPLOYING", "ACTIVE", "PAUSED", "FAILED")
    ),
    # A rollout was planned by deployJob (DEPLOYING) or started on an ACTIVE version, promoted, or
    # rolled back (by its guardrail or a user on an ACTIVE version; stopped by a pause or a failed deploy).
    ("ROLLOUT_STARTED", "DEPLOYING", "DEPLOYING"),
    ("ROLLOUT_STARTED", "ACTIVE", "ACTIVE"),
    ("ROLLOUT_PROMOTED", "ACTIVE", "ACTIVE"),
    *(("ROLLED_BACK", status, status) for status in ("ACTIVE", "PAUSED", "FAILED")),
}


@dataclass(frozen=True)
class DeploymentRow:
    id: int
    model_name: str
    version: tuple[int, int, int]
    status: str
    deleted: bool
    trail: tuple[tuple[str, str | None, str | None, str], ...]  # (kind, from, to, at) by (at, id)
    traffic_percent: float = 0.0


def read_deployments(db: Path | str) -> dict[int, DeploymentRow]:
    """Every deployment (deleted or not) with its audit trail ordered by (at, id)."""
    rows = query_rows(
        str(db),
        "SELECT id, model_name, version_major, version_minor, version_patch, status, deleted_at, traffic_percent"
        " FROM deployments",
    )
    trails: dict[int, list[tuple[str, str | None, str | None, str]]] = {r[0]: [] for r in rows}  # type: ignore[misc]
    for dep_id, kind, from_status, to_status, at in query_rows(
        str(db),
        "SELECT deployment_id, kind, from_status, to_status, at FROM deployment_events ORDER BY at, id",
    ):
        trails.setdefault(dep_id, []).append((kind, from_status, to_status, str(at)))  # type: ignore[arg-type]
    return {
        r[0]: DeploymentRow(
            id=r[0],
            model_name=r[1],
            version=(r[2], r[3], r[4]),
            status=r[5],
            deleted=r[6] is not None,
            trail=tuple(trails.pop(r[0])),
            traffic_percent=float(r[7]),  # type: ignore[arg-type]
        )
        for r in rows
    } | {  # events whose deployment row does not exist show up as a row with no status
        dep_id: DeploymentRow(dep_id, "", (0, 0, 0), "", False, tuple(trail))
        for dep_id, trail in trails.items()
    }


def audit(deployments: Mapping[int, DeploymentRow]) -> list[str]:
    """Every broken invariant of the deployments table and its audit trail, as readable lines."""
    problems: list[str] = []
    seen_versions: dict[tuple[str, tuple[int, int, int]], int] = {}
    for dep in deployments.values():
        trail = dep.trail
        where = f"deployment {dep.id} ({dep.model_name} v{'.'.join(map(str, dep.version))})"
        if not dep.status:
            problems.append(f"events without a deployment row: deployment_id {dep.id}: {trail}")
            continue
        key = (dep.model_name, dep.version)
        if key in seen_versions:
            problems.append(f"{where} repeats the version of deployment {seen_versions[key]}")
        seen_versions[key] = dep.id
        if not trail:
            problems.append(f"{where} has no events at all")
            continue
        if trail[0][:3] != ("CREATED", None, "DEPLOYING"):
            problems.append(f"{where}: first event is {trail[0]}, not CREATED None -> DEPLOYING")
        for before, after in itertools.pairwise(trail):
            if after[1] != before[2]:
                problems.append(f"{where}: broken chain {before} then {after}")
        for step in trail:
            if step[:3] not in LEGAL_STEPS:
                problems.append(f"{where}: illegal step {step}")
        deletions = [e for e in trail if e[0] == "DELETED"]
        if dep.deleted:
            if trail[-1][0] != "DELETED" or len(deletions) != 1:
                problems.append(f"{where} is deleted but its trail does not end in one DELETED: {trail}")
            elif trail[-1][1] != dep.status:
                problems.append(f"{where} is deleted as {dep.status} but DELETED says {trail[-1][1]}")
        else:
            if deletions:
                problems.append(f"{where} is not deleted but has a DELETED event: {trail}")
            if trail[-1][2] != dep.status:
                problems.append(f"{where} is {dep.status} but its last event says {trail[-1]}")
    problems += _split_problems(deployments)
    return problems


def _split_problems(deployments: Mapping[int, DeploymentRow]) -> list[str]:
    """Each model's ACTIVE versions hold shares summing to 100; no other version holds any."""
    problems = []
    models: dict[str, list[DeploymentRow]] = {}
    for dep in deployments.values():
        if dep.status and not dep.deleted:
            models.setdefault(dep.model_name, []).append(dep)
    for name, versions in models.items():
        active = [d for d in versions if d.status == "ACTIVE"]
        if active and abs(sum(d.traffic_percent for d in active) - 100.0) > 0.01:
            problems.append(f"model {name}: ACTIVE shares sum to {sum(d.traffic_percent for d in active)}")
        problems += [
            f"model {name}: {d.status} deployment {d.id} holds {d.traffic_percent} %"
            for d in versions
            if d.status != "ACTIVE" and d.traffic_percent != 0.0
        ]
    return problems
