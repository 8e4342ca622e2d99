"""The computed cost limit: dashboards fit, fan-out bombs are refused before anything runs."""

from pathlib import Path
from typing import Any

import pytest
from graphql import get_introspection_query, parse

from schema import schema
from schema.cost import operation_cost
from schema.limits import Limits
from tests.support import Api, running_api
from tests.test_api_metrics import seed

BUDGET = Limits().max_cost
SPARKLINE_TABLE = """query($range: MetricsRange, $first: Int) {
  deployments(first: $first) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id modelName version status endpoint health healthReasons
      metrics { requestVolume p50Latency p95Latency p99Latency errorRate }
      metricsHistory(range: $range) { points { timestamp requestVolume p95Latency } } } } }"""
NESTED_3 = """{ trainingJobs(first: 100) { nodes { deployments(first: 100) { nodes { trainingJob {
  deployments(first: 100) { nodes { id } } } } } } } }"""
DEPLOY_WITH_A_BOMB = """mutation($job: ID!) { deployJob(input: {jobId: $job}) { deployment { id
  trainingJob { deployments(first: 100) { nodes { trainingJob { deployments(first: 100) { nodes {
    trainingJob { deployments(first: 100) { nodes { id } } } } } } } } } } } }"""


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    return operation_cost(schema._schema, parse(query), None, variables)


async def post(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await api.http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_refused(body: dict[str, Any], limit: int = BUDGET) -> dict[str, Any]:
    assert body.get("data") is None, "nothing may run"
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED"
    requested = error["extensions"]["cost"]
    assert requested > limit == error["extensions"]["limit"]
    assert f"{requested:,}" in error["message"] and f"{limit:,}" in error["message"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("span", ["LAST_HOUR", "LAST_24_HOURS"])
async def test_a_100_row_table_with_a_sparkline_per_row_fits(api: Api, span: str) -> None:
    await seed(api, active=100)
    body = await post(api, SPARKLINE_TABLE, {"range": span, "first": 100})
    assert "errors" not in body, body["errors"]
    nodes = body["data"]["deployments"]["nodes"]
    assert len(nodes) == 100 and all(node["metricsHistory"]["points"] for node in nodes)
    reported = body["extensions"]["cost"]
    assert reported == {"requested": cost(SPARKLINE_TABLE, {"range": span, "first": 100}), "limit": BUDGET}
    assert reported["requested"] <= BUDGET


async def test_a_100_row_table_of_30_day_histories_is_refused(api: Api) -> None:
    await seed(api, active=3)
    assert_refused(await post(api, SPARKLINE_TABLE, {"range": "LAST_30_DAYS", "first": 100}))


async def test_nested_connections_multiply_and_are_refused(api: Api) -> None:
    error = assert_refused(await post(api, NESTED_3))
    assert error["extensions"]["cost"] > 100 * 100 * 100
    # the same shape with small pages is cheap, and allowed
    small = NESTED_3.replace("first: 100", "first: 5")
    body = await post(api, small)
    assert "errors" not in body and body["extensions"]["cost"]["requested"] < 2500


async def test_a_mutation_over_budget_changes_nothing(api: Api) -> None:
    await seed(api, active=1)
    jobs = await api.query("{ trainingJobs(first: 1) { nodes { id } } }")
    before = await api.query("{ deployments { totalCount } }")
    assert_refused(await post(api, DEPLOY_WITH_A_BOMB, {"job": jobs["trainingJobs"]["nodes"][0]["id"]}))
    assert await api.query("{ deployments { totalCount } }") == before


async def test_page_sizes_from_variables_count(api: Api) -> None:
    query = "query($n: Int) { trainingJobs(first: $n) { nodes { deployments(first: $n) { nodes { id } } } } }"
    assert "errors" not in await post(api, query, {"n": 10})
    assert_refused(
        await post(
            api,
            query.replace("{ id }", "{ id trainingJob { deployments(first: $n) { nodes { id } } } }"),
            {"n": 100},
        )
    )


async def test_fragments_do_not_hide_cost(api: Api) -> None:
    spread = """{ trainingJobs(first: 100) { nodes { ...J } } }
      fragment J on TrainingJob { deployments(first: 100) { nodes { ... on Deployment { trainingJob { ...K } } } } }
      fragment K on TrainingJob { deployments(first: 100) { nodes { id } } }"""
    assert cost(spread) == cost(NESTED_3)
    assert_refused(await post(api, spread))


async def test_skipped_selections_cost_nothing(api: Api) -> None:
    query = """query($skip: Boolean!) { serverTime trainingJobs(first: 100) @skip(if: $skip) {
      nodes { deployments(first: 100) { nodes { trainingJob { deployments(first: 100) { nodes { id } } } } } } } }"""
    body = await post(api, query, {"skip": True})
    assert "errors" not in body and body["extensions"]["cost"]["requested"] == 1
    assert_refused(await post(api, query, {"skip": False}))


async def test_nodes_costs_by_its_ids_and_the_costliest_type(api: Api) -> None:
    one = cost('{ nodes(ids: ["a"]) { id ... on Deployment { events { kind at } } } }')
    ten = cost(
        '{ nodes(ids: ["a","b","c","d","e","f","g","h","i","j"]) { id ... on Deployment { events { kind at } } } }'
    )
    assert ten - 1 == 10 * (one - 1)  # the field itself, then each id
    history = cost(
        '{ nodes(ids: ["a"]) { ... on Deployment { metricsHistory(range: LAST_30_DAYS) { stepSeconds } } } }'
    )
    assert history > 4000  # 43,200 windows aggregated


async def test_graphiql_introspection_fits(api: Api) -> None:
    body = await post(api, get_introspection_query(descriptions=True))
    assert "errors" not in body and body["extensions"]["cost"]["requested"] <= BUDGET
    wide = "{ __schema { types { fields { args { type { name } } type { name } } inputFields { name } } } }"
    assert cost(wide) > cost("{ __schema { types { name } } }") * 10


async def test_every_distinct_instant_of_a_fleet_wide_figure_costs_a_pass(api: Api) -> None:
    one = cost("{ a: deploymentStats { total } b: deploymentStats { total } }")
    two = cost('{ a: deploymentStats { total } b: deploymentStats(asOf: "2026-11-01T10:00:00Z") { total } }')
    same_window = cost(
        '{ a: deploymentStats(asOf: "2026-11-01T10:00:05Z") { total } b: deploymentStats(asOf: "2026-11-01T10:00:55Z") { total } }'
    )
    assert two > one == same_window
    sorted_by_p95 = cost("{ deployments(orderBy: [{field: P95_LATENCY}]) { nodes { id } } }")
    by_creation = cost("{ deployments(orderBy: [{field: CREATED_AT}]) { nodes { id } } }")
    assert sorted_by_p95 > by_creation


async def test_the_budget_is_a_setting_tested_at_its_edge(tmp_path: Path) -> None:
    query = "{ trainingJobs(first: 7) { nodes { id deployments(first: 3) { nodes { id } } } } }"
    exact = cost(query)
    async with running_api(tmp_path, max_cost=exact) as api:
        body = await post(api, query)
        assert "errors" not in body and body["extensions"]["cost"] == {"requested": exact, "limit": exact}
    async with running_api(tmp_path, max_cost=exact - 1) as api:
        assert_refused(await post(api, query), limit=exact - 1)


async def test_over_budget_is_a_request_error_over_graphql_response_json(api: Api) -> None:
    response = await api.http.post(
        "/graphql", json={"query": NESTED_3}, headers={"Accept": "application/graphql-response+json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED"


async def test_a_batch_is_charged_the_sum_of_its_operations(tmp_path: Path) -> None:
    query = "{ trainingJobs(first: 7) { nodes { id deployments(first: 3) { nodes { id } } } } }"
    each = cost(query)
    async with running_api(tmp_path, max_cost=3 * each) as api:
        three = await api.http.post("/graphql", json=[{"query": query}] * 3)
        assert [("errors" in item) for item in three.json()] == [False, False, False]
        four = (await api.http.post("/graphql", json=[{"query": query}] * 4)).json()
        assert [("errors" in item) for item in four] == [False, False, False, True]
        refused = four[3]
        assert refused.get("data") is None
        error = refused["errors"][0]
        assert error["extensions"] == {"code": "COST_LIMIT_EXCEEDED", "cost": 4 * each, "limit": 3 * each}
        assert "earlier operations" in error["message"]
        # each HTTP request has a budget of its own
        assert "errors" not in (await api.http.post("/graphql", json={"query": query})).json()


def test_a_fleet_pass_costs_by_the_size_of_the_fleet() -> None:
    windows = " ".join(
        f'w{m}: deployments(orderBy: [{{field: P95_LATENCY}}], asOf: "2026-11-01T10:{m:02d}:00Z") {{ totalCount }}'
        for m in range(30)
    )
    query = parse("{ " + windows + " }")
    small = operation_cost(schema._schema, query, None, {}, fleet_size=100)
    large = operation_cost(schema._schema, query, None, {}, fleet_size=100_000)
    assert small < BUDGET < large  # 30 windows over a demo fleet fit; over 100,000 deployments they do not
