"""`--log-format json`: every line a server writes is one JSON object; one access line per request."""

import json
import logging
import sys
from pathlib import Path

import httpx
import pytest

from tests.databases import database_for_sync
from tests.process import server_process
from web.logs import JsonFormatter

pytestmark = pytest.mark.e2e

ACCESS_KEYS = {"request_id", "method", "path", "operation", "status", "duration_ms", "cache_hit"}


def test_json_logs_one_object_per_line_and_one_access_line_per_request(tmp_path: Path) -> None:
    db = database_for_sync(tmp_path, "logs")
    # two workers: the supervisor's lines and each worker's go through the same format
    flags = ("--log-format", "json", "--log-level", "info", "--workers", "2", "--rate-limit-capacity", "0")
    with server_process(tmp_path, db, *flags) as server:
        sent = {}
        for i in range(12):
            request_id = f"log-test-{i}"
            response = httpx.post(
                f"{server.graphql_url}?token=never-logged",
                json={"query": f"query Named{i % 2} {{ deployments(first: 1) {{ totalCount }} }}"},
                headers={"X-Request-ID": request_id},
                timeout=30,
            )
            sent[request_id] = response.status_code
        httpx.get(f"{server.base_url}/healthz", headers={"X-Request-ID": "log-test-health"}, timeout=10)
        httpx.post(server.graphql_url, content=b"{", headers={"X-Request-ID": "log-test-broken"}, timeout=10)
        server.stop(timeout=40)
        text = server.log_text()

    records = [json.loads(line) for line in text.splitlines()]  # fails on any line that is not JSON
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    loggers = {r["logger"] for r in records}
    assert "uvicorn.error" in loggers  # uvicorn's start-up and shutdown lines, in the same format
    assert "uvicorn.access" not in loggers
    assert any("Started parent process" in r["message"] for r in records)
    assert "never-logged" not in text  # the query string is not logged, by us or by uvicorn

    access = [r for r in records if r["logger"] == "deploydeck.access"]
    assert all(r.keys() >= ACCESS_KEYS for r in access)
    mine = [r for r in access if r["request_id"].startswith("log-test-")]
    assert sorted(r["request_id"] for r in mine) == sorted([*sent, "log-test-health", "log-test-broken"])
    by_id = {r["request_id"]: r for r in mine}
    for i in range(12):
        line = by_id[f"log-test-{i}"]
        assert (line["method"], line["path"], line["operation"]) == ("POST", "/graphql", f"Named{i % 2}")
        assert line["status"] == sent[f"log-test-{i}"] == 200
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert isinstance(line["cache_hit"], bool)
    # two documents, two workers, at most two windows: at most 8 of the 12 are misses
    assert any(by_id[f"log-test-{i}"]["cache_hit"] for i in range(12))
    assert by_id["log-test-health"]["cache_hit"] is None  # not a GraphQL query: neither hit nor miss
    assert by_id["log-test-health"]["operation"] is None
    assert by_id["log-test-broken"]["status"] == 400
    assert len({r["pid"] for r in records}) == 3  # the parent and both workers


def test_text_logs_have_our_access_line_and_not_uvicorns(tmp_path: Path) -> None:
    db = database_for_sync(tmp_path, "text")
    with server_process(tmp_path, db, "--log-level", "info") as server:
        httpx.post(server.graphql_url, json={"query": "{ serverTime }"}, headers={"X-Request-ID": "text-1"})
        server.stop()
        lines = server.log_text().splitlines()
    assert len([line for line in lines if "request_id=text-1 " in line]) == 1
    assert not [line for line in lines if "HTTP/1.1" in line]  # uvicorn's access line format


def test_json_formatter_keeps_a_traceback_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("it",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed it" and "ValueError: boom" in entry["exception"]
