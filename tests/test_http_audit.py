"""graphql-http's audit suite (npm) against a running server: no errors, no warnings."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.process import live_server

AUDIT = Path(__file__).resolve().parent / "audit"


def test_graphql_over_http_audit_passes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (AUDIT / "node_modules" / "graphql-http").is_dir():
        reason = "needs node and `npm ci --prefix tests/audit` (.ci/run does both)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with live_server(tmp_path, "--no-demo") as base_url:
        out = subprocess.run(
            [node, str(AUDIT / "audit.mjs"), f"{base_url}/graphql"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    results = json.loads(out)
    assert len(results) >= 50
    problems = [f"{r['status']} {r['id']} {r['name']}: {r['reason']}" for r in results if r["status"] != "ok"]
    # "notice" results are MAYs; none are left either.
    assert problems == []
