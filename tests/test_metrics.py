"""GET /metrics: Prometheus text with request counts and latencies per operation, the process's tallies.

The counters live in prometheus_client's process-wide registry, which every app a test process
builds shares: these tests compare a scrape before and after what they do.
"""

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support import Api, running_api
from tests.test_api_mutations import DEPLOY, complete_job

TOKEN = "metrics-test-token-0123456789"


async def scrape(api: Api, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape: (name, sorted labels) -> value."""
    response = await api.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_of(samples: dict[Any, float], operation: str, status: str = "200") -> float:
    labels = (("operation", operation), ("path", "/graphql"), ("status", status))
    return samples.get(("deploydeck_http_requests_total", labels), 0.0)


def _endpoint(api: Api) -> Any:
    app = api.app
    return next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")


async def test_requests_are_counted_and_timed_by_operation_and_status(api: Api) -> None:
    before = await scrape(api)
    for _ in range(3):
        await api.query("query Clock { serverTime }")
    broken = await api.http.post("/graphql", json={"query": "query Broken { nope }"})
    after = await scrape(api)

    assert requests_of(after, "Clock") - requests_of(before, "Clock") == 3
    assert (
        requests_of(after, "Broken", str(broken.status_code))
        - requests_of(before, "Broken", str(broken.status_code))
        == 1
    )
    count = ("deploydeck_http_request_duration_seconds_count", (("operation", "Clock"), ("path", "/graphql")))
    assert after[count] - before.get(count, 0) == 3
    # the scrape before this one was counted too, under its own path
    scraped = (
        "deploydeck_http_requests_total",
        (("operation", "-"), ("path", "/metrics"), ("status", "200")),
    )
    assert after[scraped] >= 1
    assert after[("deploydeck_db_pool_size", ())] > 0


async def test_operation_labels_are_bounded_and_only_names_the_document_defines(api: Api) -> None:
    before = await scrape(api)
    for i in range(105):
        await api.query(f"query Op{i} {{ serverTime }}")
    # an operationName the document does not define is the client's free text: never a label
    await api.http.post(
        "/graphql", json={"query": "query Real { serverTime }", "operationName": "secret-token-xyz"}
    )
    after = await scrape(api)
    labels = {
        dict(labels).get("operation") for (name, labels) in after if name == "deploydeck_http_requests_total"
    }
    assert {f"Op{i}" for i in range(99)} <= labels  # this app's first 100 names (the scrape above is one)
    assert not {f"Op{i}" for i in range(100, 105)} & labels
    assert requests_of(after, "other") - requests_of(before, "other") >= 5
    assert "secret-token-xyz" not in labels


async def test_settled_transitions_snapshot_reloads_and_cache_counts(api: Api) -> None:
    job = await complete_job(api)
    before = await scrape(api)
    cache = _endpoint(api).response_cache
    tallies = (cache.hits, cache.misses)
    payload = (await api.query(DEPLOY, {"job": job}))["deployJob"]
    assert payload["errors"] == []
    # rollouts take 0 s here: the next request settles the rollout, and reloads the snapshot
    await api.query("{ deployments(first: 5) { nodes { status } } }")
    for _ in range(3):  # the first is executed and kept, the others are answered from the cache
        await api.query("{ deployments(first: 3) { totalCount } }")
    after = await scrape(api)

    def delta(name: str) -> float:
        return after.get((name, ()), 0.0) - before.get((name, ()), 0.0)

    assert delta("deploydeck_settled_transitions_total") == 1
    assert delta("deploydeck_fleet_snapshot_reloads_total") >= 1
    # a miss for each query (the first after a write, then a new document), two hits
    assert (cache.hits - tallies[0], cache.misses - tallies[1]) == (2, 2)
    assert delta("deploydeck_response_cache_hits_total") == 2
    assert delta("deploydeck_response_cache_misses_total") == 2


async def test_metrics_need_a_token_when_reads_do(tmp_path: Path) -> None:
    tokens = (("ops", TOKEN),)
    async with running_api(tmp_path, tokens=tokens, require_token_for_reads=True) as api:
        refused = await api.http.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "deploydeck_" not in refused.text
        await scrape(api, Authorization=f"Bearer {TOKEN}")
    (tmp_path / "open").mkdir()
    async with running_api(tmp_path / "open", tokens=tokens) as api:
        await scrape(api)  # reads open: so is /metrics
