"""A real install: the wheel built from this checkout, installed into a fresh venv, serves from anywhere.

The venv gets the wheel's dependencies from the package index (pip's cache makes that quick), not
from this checkout or its venv, so a file missing from the wheel fails here as it would for a user.
"""

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db import demo
from tests.databases import database_for_sync
from tests.process import answers, environment, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.install

# What a source checkout holds besides the sources: never part of a build.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "node_modules", "__pycache__", ".*_cache", ".hypothesis", "*.db*"
)


def run(*command: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel of this checkout installed, not editable; its bin/ directory."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    # Built from a copy: a build in the checkout would leave build/ behind, whose stale files
    # setuptools puts into later wheels.
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", source, cwd=tmp)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("deploydeck-*.whl")
    assert run(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp).returncode == 0
    bin_dir = tmp / "venv" / "bin"
    installed = run(bin_dir / "pip", "install", "-q", "--no-compile", wheel, cwd=tmp)
    assert installed.returncode == 0, installed.stderr
    yield bin_dir


def test_the_installed_command_migrates_and_serves_from_outside_the_checkout(
    venv: Path, tmp_path: Path
) -> None:
    # the code runs from the venv, not from this checkout
    where = run(venv / "python", "-c", "import server, db.migrate; print(server.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(venv.parent)), where
    db = database_for_sync(tmp_path, "installed")
    migrated = run(venv / "deploydeck", "migrate", "--db", db, cwd=tmp_path)
    assert migrated.returncode == 0 and "at revision" in migrated.stdout, migrated

    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # two workers: each imports `server:worker_app` from the venv, prometheus_client included
            [venv / "deploydeck", "serve", "--port", str(port), "--db", db, "--no-migrate", "--workers", "2"],
            cwd=tmp_path,
            env=environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not answers(base):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
        body = httpx.post(
            f"{base}/graphql", json={"query": "{ deployments(first: 3) { totalCount nodes { modelName } } }"}
        ).json()
        assert "errors" not in body, body
        # the demo is there: the default, as with `python server.py`
        size = demo.size()
        assert body["data"]["deployments"]["totalCount"] == size.deployments - size.deleted
        # GraphiQL's vendored files are package data too
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        script = next(line for line in page.text.splitlines() if "graphiql.min.js" in line)
        path = script.split('src="')[1].split('"')[0]
        assert httpx.get(f"{base}{path}").status_code == 200
        assert "deploydeck_http_requests_total" in httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_installation_without_its_migrations_says_so(venv: Path, tmp_path: Path) -> None:
    """Not "cannot open the database": the database is fine, the installation is not."""
    site = Path(run(venv / "python", "-c", "import db; print(db.__file__)", cwd=tmp_path).stdout.strip())
    broken = tmp_path / "migrations-aside"
    shutil.move(site.parent / "migrations", broken)
    try:
        failed = run(
            venv / "deploydeck",
            "serve",
            "--port",
            str(free_port()),
            "--db",
            tmp_path / "x.db",
            cwd=tmp_path,
            timeout=60,
        )
        migrate = run(venv / "deploydeck", "migrate", "--db", tmp_path / "x.db", cwd=tmp_path)
    finally:
        shutil.move(broken, site.parent / "migrations")
    assert failed.returncode != 0
    assert "migrations are missing from this installation" in failed.stderr, failed.stderr
    assert "cannot open the database" not in failed.stderr
    assert migrate.returncode == 1 and "migrations are missing" in migrate.stderr, migrate


def test_deploydeck_serve_and_migrate_take_the_flags_of_server_py_and_db_migrate() -> None:
    def flags(*command: str) -> list[str]:
        result = run(sys.executable, *command, "--help", cwd=ROOT)
        assert result.returncode == 0, result.stderr
        return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", result.stdout)))

    assert flags("deploydeck.py", "serve") == flags("server.py") != []
    assert flags("deploydeck.py", "migrate") == flags("-m", "db.migrate") != []
    unknown = run(sys.executable, "deploydeck.py", "deploy", cwd=ROOT)
    assert unknown.returncode == 2 and "unknown command 'deploy'" in unknown.stderr
