"""Apollo Client from npm against server.py: persisted queries, and the cache set-up examples/ documents.

The scripts live in tests/apollo (`npm ci --prefix tests/apollo`); each exits non-zero on its first
failed assertion. Also: examples/possibleTypes.json matches the served schema.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from schema import schema
from schema.export import possible_types_json
from tests.process import live_server

ROOT = Path(__file__).resolve().parent.parent
APOLLO = ROOT / "tests" / "apollo"


def test_committed_possible_types_match_the_served_schema() -> None:
    committed = (ROOT / "examples" / "possibleTypes.json").read_text()
    assert committed == possible_types_json(schema._schema), "drifted: run `python -m schema.export`"
    assert '"Node"' in committed


def run_script(script: str, base_url: str) -> str:
    node = shutil.which("node")
    if node is None or not (APOLLO / "node_modules" / "@apollo" / "client").is_dir():
        reason = "needs node and `npm ci --prefix tests/apollo` (.ci/run does both)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(APOLLO / script), f"{base_url}/graphql"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.e2e
def test_persisted_query_link_registers_then_goes_by_hash_over_get(tmp_path: Path) -> None:
    with live_server(tmp_path, "--demo") as base_url:
        assert '"ok":true' in run_script("persisted.mjs", base_url)


@pytest.mark.e2e
def test_in_memory_cache_merges_pages_and_follows_deploy_and_pause(tmp_path: Path) -> None:
    with live_server(tmp_path, "--demo", "--rollout-seconds", "0") as base_url:
        assert '"ok":true' in run_script("cache.mjs", base_url)
