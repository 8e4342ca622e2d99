"""The modelName filter folds case for every letter (Python's str.casefold), on every listing path,
and totalCount is always the number of rows the pages hold."""

from datetime import timedelta
from typing import Any

import pytest

from tests.support import T0, Api, make_deployment, make_job
from tests.test_api_mutations import DEPLOY, gid

TABLE = """
query($first: Int, $after: String, $filter: DeploymentFilter, $orderBy: [DeploymentOrder!]) {
  deployments(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { databaseId modelName health }
  }
}"""
JOBS = """
query($first: Int, $after: String, $filter: TrainingJobFilter) {
  trainingJobs(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { databaseId modelName }
  }
}"""

NAMES = (
    "ÉCOLE-bot",
    "école-helper",
    "Ecole-ascii",
    "Straße-ranker",
    "STRASSE-sorter",
    "ΣΊΣΥΦΟΣ-ai",
    "σίσυφος-lite",
    "İstanbul-router",
    "sql-copilot",
    "100%_off",
    "back\\slash/path",
)
DEPLOYED = "ÉCOLE-bot-v2"  # deployed through deployJob rather than written by the test
# needle -> model names it must find; written out so the test does not only restate casefold
EXPECTED = {
    "école": {"ÉCOLE-bot", "école-helper", DEPLOYED},
    "ÉCOLE": {"ÉCOLE-bot", "école-helper", DEPLOYED},
    "ECOLE": {"Ecole-ascii"},  # only case folds: an accent is not stripped
    "STRASSE": {"Straße-ranker", "STRASSE-sorter"},
    "straße": {"Straße-ranker", "STRASSE-sorter"},
    "σίσυφος": {"ΣΊΣΥΦΟΣ-ai", "σίσυφος-lite"},
    "ΣΊΣΥΦΟΣ": {"ΣΊΣΥΦΟΣ-ai", "σίσυφος-lite"},
    "İSTANBUL": {"İstanbul-router"},
    "SQL-CO": {"sql-copilot"},
    "%": {"100%_off"},
    "0%_O": {"100%_off"},
    "_": {"100%_off"},
    "\\": {"back\\slash/path"},
    "/": {"back\\slash/path"},
    "k\\s": {"back\\slash/path"},
    "%o": set(),  # a literal "%", not a wildcard
    "é_": set(),
}
ORDERS = {
    "default": None,
    "model name": [{"field": "MODEL_NAME"}],
    "p95": [{"field": "P95_LATENCY", "direction": "DESC"}],
}
SERVING = ["HEALTHY", "WARNING", "CRITICAL"]


async def seed(api: Api) -> None:
    """Two or three deployments per name, mostly serving, some not; one deployed through the API."""
    async with api.db.write() as s:
        jobs = [
            make_job(s, model_name=name, model_size=("NANO", "SMALL", "LARGE")[i % 3])
            for i, name in enumerate(NAMES)
        ]
        for i, job in enumerate(jobs):
            for minor in range(2 + i % 2):
                status = "ACTIVE" if (i + minor) % 4 else ("PAUSED", "FAILED")[minor % 2]
                await make_deployment(
                    s, job, minor=minor, status=status, created_at=T0 - timedelta(days=3, hours=i + minor)
                )
        api_job = make_job(s, model_name=DEPLOYED)
    deployed = (await api.query(DEPLOY, {"job": gid("TrainingJob", api_job.id)}))["deployJob"]
    assert deployed["errors"] == []


async def page_all(
    api: Api, query: str, root: str, variables: dict[str, Any]
) -> tuple[list[dict[str, Any]], set[int]]:
    """Every node over pages of 2, and every totalCount the pages reported."""
    nodes: list[dict[str, Any]] = []
    counts: set[int] = set()
    after = None
    while True:
        conn = (await api.query(query, {**variables, "first": 2, "after": after}))[root]
        nodes += conn["nodes"]
        counts.add(conn["totalCount"])
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes, counts
        after = conn["pageInfo"]["endCursor"]


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
@pytest.mark.parametrize("health", [None, SERVING], ids=["any health", "serving"])
async def test_name_filter_folds_every_letter_and_counts_what_it_pages(
    api: Api, order: list[dict[str, str]] | None, health: list[str] | None
) -> None:
    # given
    await seed(api)
    everything = (await api.query(TABLE, {"first": 100}))["deployments"]["nodes"]
    assert len(everything) == 28
    for needle, names in EXPECTED.items():
        flt: dict[str, Any] = {"modelName": needle}
        if health is not None:
            flt["health"] = health
        # when
        nodes, counts = await page_all(api, TABLE, "deployments", {"filter": flt, "orderBy": order})
        # then: exactly the deployments of the matching names, each once, and the count agrees
        expected = {
            n["databaseId"]
            for n in everything
            if n["modelName"] in names and (health is None or n["health"] in health)
        }
        ids = [n["databaseId"] for n in nodes]
        assert sorted(ids) == sorted(expected), needle
        assert counts == {len(ids)}, needle
    # and the version deployed through the API is found like the others
    found = (await api.query(TABLE, {"first": 100, "filter": {"modelName": "ecole-BOT-V"}}))["deployments"]
    assert found["nodes"] == [] and found["totalCount"] == 0
    found = (await api.query(TABLE, {"first": 100, "filter": {"modelName": "école-BOT-V"}}))["deployments"]
    assert [n["modelName"] for n in found["nodes"]] == [DEPLOYED] and found["totalCount"] == 1


async def test_model_name_order_with_a_folded_filter_pages_in_code_point_order(api: Api) -> None:
    await seed(api)
    nodes, counts = await page_all(
        api, TABLE, "deployments", {"filter": {"modelName": "É"}, "orderBy": ORDERS["model name"]}
    )
    names = [n["modelName"] for n in nodes]
    assert names == sorted(names) and set(names) == EXPECTED["école"]
    assert counts == {len(nodes)}


async def test_training_job_name_filter_folds_every_letter(api: Api) -> None:
    await seed(api)
    for needle, names in EXPECTED.items():
        nodes, counts = await page_all(api, JOBS, "trainingJobs", {"filter": {"modelName": needle}})
        assert {n["modelName"] for n in nodes} == names, needle
        assert len(nodes) == len(names) and counts == {len(nodes)}, needle
