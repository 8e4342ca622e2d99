"""`server.py` as a user starts it, in a subprocess on a free port: for tests over a real socket."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.databases import database_for_sync

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(tmp_path: Path, *flags: str, startup_timeout: float = 30) -> Iterator[str]:
    """Start `python server.py` with its database in `tmp_path` and extra `flags`; yield its base URL.

    The base URL is `http://127.0.0.1:<port>` (GraphQL at `/graphql`). The server's output goes to
    `tmp_path / "server.log"`, quoted when it does not come up. It is always stopped on exit.
    """
    port = free_port()
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        str(ROOT / "server.py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        database_for_sync(tmp_path),
        "--log-level",
        "warning",
        *flags,  # later flags win, so these may override the ones above
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while not _answers(base_url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server.py did not start ({' '.join(command)}):\n{log.read_text()}")
            time.sleep(0.05)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(base_url: str) -> bool:
    try:
        response = httpx.post(f"{base_url}/graphql", json={"query": "{ serverTime }"}, timeout=2)
    except httpx.TransportError:
        return False
    return response.status_code == 200
