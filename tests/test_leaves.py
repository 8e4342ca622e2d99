"""Plain leaf fields completed the short way (schema/leaves.py): the same data and the same errors
as graphql-core's own completion, compared in one app with the short way on and off."""

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from schema.deployment import Deployment
from schema.leaves import LeafExecutor
from tests.support import Api, make_deployment, make_job, running_api

PAGE = """
query($filter: DeploymentFilter) {
  deployments(first: 10, filter: $filter) {
    totalCount
    nodes {
      __typename id databaseId modelName version status statusReason endpoint deployedBy
      modelSize createdAt updatedAt
      again: modelName
      ... on Node { id }
      metrics { requestVolume p50Latency p95Latency p99Latency errorRate }
      trainingJob { modelName status finalLoss hyperparameters { epochs learningRate } }
    }
  }
}"""


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path, response_cache=False, rate_limit_capacity=0) as client:
        async with client.db.write() as s:
            for n, status in enumerate(["ACTIVE", "PAUSED", "FAILED", "DEPLOYING"]):
                job = make_job(s, model_name=f"leaf-{n}")
                await make_deployment(
                    s, job, status=status, status_reason="disk full" if status == "FAILED" else None
                )
        client.headers = {"X-Request-ID": "leaves"}  # masked errors quote it: the same both ways
        yield client


async def both_ways(
    api: Api, monkeypatch: pytest.MonkeyPatch, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The response body with the short way, then with graphql-core's completion only."""
    short = await api.post(query, variables)
    monkeypatch.setattr(LeafExecutor, "fast_leaves", False)
    normal = await api.post(query, variables)
    monkeypatch.setattr(LeafExecutor, "fast_leaves", True)
    return short, normal


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the fields graphql-core completed (so a comparison cannot pass with the short way unused)."""
    calls = [0]
    execute_field = LeafExecutor.__mro__[1].execute_field

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return execute_field(*args)

    monkeypatch.setattr(LeafExecutor.__mro__[1], "execute_field", counted)
    return calls


async def test_a_page_is_the_same_either_way(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    for variables in ({}, {"filter": {"status": ["ACTIVE", "FAILED"]}}):
        calls = counting(monkeypatch)
        short = await api.post(PAGE, variables)
        took_short_way = calls[0]
        monkeypatch.setattr(LeafExecutor, "fast_leaves", False)
        normal = await api.post(PAGE, variables)
        monkeypatch.setattr(LeafExecutor, "fast_leaves", True)
        assert "errors" not in short and short["data"] == normal["data"]
        assert calls[0] - took_short_way > 2 * took_short_way  # most fields went the short way
    nodes = short["data"]["deployments"]["nodes"]
    assert {n["status"] for n in nodes} == {"ACTIVE", "FAILED"}
    assert [n["statusReason"] for n in nodes if n["status"] == "FAILED"] == ["disk full"]


def breaking(monkeypatch: pytest.MonkeyPatch, **broken: Any) -> None:
    """Deployments built with these attributes overridden (values their types do not allow)."""
    from_row = Deployment.from_row

    def broken_row(row: Any, *args: Any) -> Deployment:
        deployment = from_row(row, *args)
        if deployment.model_name == "leaf-1":
            for name, value in broken.items():
                setattr(deployment, name, value)
        return deployment

    monkeypatch.setattr(Deployment, "from_row", broken_row)


@pytest.mark.parametrize(
    ("broken", "message", "field"),
    [
        (
            {"model_name": None},
            "Cannot return null for non-nullable field Deployment.modelName.",
            "modelName",
        ),
        ({"created_at": "yesterday"}, None, "createdAt"),  # a DateTime that cannot be serialized
        ({"status": "SLEEPING"}, "Enum 'DeploymentStatus' cannot represent value: 'SLEEPING'", "status"),
        ({"database_id": 2**40}, None, "databaseId"),  # beyond GraphQL's 32-bit Int
    ],
)
async def test_errors_are_the_same_either_way(
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    broken: dict[str, Any],
    message: str | None,
    field: str,
) -> None:
    breaking(monkeypatch, **broken)
    caplog.set_level(logging.INFO, logger="deploydeck.graphql")
    query = "{ deployments(first: 10) { nodes { modelName databaseId status createdAt } } }"
    short, normal = await both_ways(api, monkeypatch, query)
    assert short["data"] == normal["data"] and short["errors"] == normal["errors"]
    [error] = short["errors"]
    assert error["path"][:2] == ["deployments", "nodes"] and error["path"][3] == field
    if message is not None:  # an unexpected error is masked for the client: the log has it, once each way
        logged = sum(message in r.getMessage() for r in caplog.records)
        assert message in error["message"] or logged == 2


async def test_a_quick_field_is_read_from_its_page_and_falls_back_to_its_resolver(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`metrics` without arguments comes from the page's figures (Deployment.page_metrics); with an
    `asOf`, or when the method has nothing, its resolver runs: the figures are the same."""
    page_metrics = Deployment.page_metrics
    quick_reads: list[int] = []
    answered_quick: list[bool] = []

    def counted(self: Deployment) -> Any:
        quick_reads.append(self.database_id)
        value = page_metrics(self)
        answered_quick.append(value is not None)
        return value

    monkeypatch.setattr(Deployment, "page_metrics", counted)
    fields = "databaseId metrics { requestVolume p50Latency p99Latency errorRate }"
    plain = await api.post(f"{{ serverTime deployments(first: 10) {{ nodes {{ {fields} }} }} }}")
    assert "errors" not in plain
    nodes = plain["data"]["deployments"]["nodes"]
    assert sorted(quick_reads) == sorted(n["databaseId"] for n in nodes) and all(answered_quick)
    quick_reads.clear()
    pinned = fields.replace("metrics", f'metrics(asOf: "{plain["data"]["serverTime"]}")')
    explicit = await api.post(f"{{ deployments(first: 10) {{ nodes {{ {pinned} }} }} }}")
    assert quick_reads == [] and explicit["data"]["deployments"]["nodes"] == nodes
    # The method declining (None) runs the resolver: the same answer.
    monkeypatch.setattr(Deployment, "page_metrics", lambda self: None)
    declined = await api.post(f"{{ deployments(first: 10) {{ nodes {{ {fields} }} }} }}")
    assert declined["data"]["deployments"]["nodes"] == nodes
