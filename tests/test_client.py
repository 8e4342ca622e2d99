"""A real GraphQL client (gql over HTTPX) runs a frontend's flows against server.py over a socket.

Every document sent is one of examples/, exactly as a frontend would copy it.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest, gql
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from tests.process import live_server

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the module, as frontends share one: each test checks only what it changed."""
    with live_server(tmp_path_factory.mktemp("live"), "--demo", "--rollout-seconds", "0") as base:
        yield f"{base}/graphql"


@pytest.fixture
async def session(url: str) -> AsyncIterator[AsyncClientSession]:
    async with Client(transport=HTTPXAsyncTransport(url=url, timeout=10)) as session:
        yield session


async def run(session: AsyncClientSession, example: str, **variables: Any) -> dict[str, Any]:
    """`data` of an example document sent with `variables`; GraphQL errors raise TransportQueryError."""
    request = GraphQLRequest((EXAMPLES / example).read_text(), variable_values=variables)
    return await session.execute(request)


def rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a deployments-table.graphql page: it selects edges, as Apollo's relayStylePagination merges."""
    return [edge["node"] for edge in table["edges"]]


async def test_paging_the_deployments_table_with_cursors_shows_every_deployment_once(
    session: AsyncClientSession,
) -> None:
    seen: list[str] = []
    totals: set[int] = set()
    after = None
    while True:
        data = await run(session, "deployments-table.graphql", first=7, after=after)
        table = data["deployments"]
        if after is None:
            # the polling hint: every row shares one window, which ends within the next minute of the
            # server's clock (the Date header: whole seconds, so up to a second behind)
            now = parsedate_to_datetime(session.transport.response_headers["date"])  # type: ignore[attr-defined]
            (next_update,) = {datetime.fromisoformat(r["metrics"]["nextUpdateAt"]) for r in rows(table)}
            assert timedelta(0) < next_update - now <= timedelta(seconds=61)
        totals.add(table["totalCount"])
        seen += [row["id"] for row in rows(table)]
        assert all(row["metrics"]["requestVolume"] >= 0 and row["health"] for row in rows(table))
        if not table["pageInfo"]["hasNextPage"]:
            break
        after = table["pageInfo"]["endCursor"]
    assert len(totals) == 1 and len(seen) == len(set(seen)) == totals.pop() > 7
    # the summary cards count the same fleet
    cards = (await run(session, "summary-cards.graphql"))["deploymentStats"]
    assert cards["total"] == len(seen) == sum(s["count"] for s in cards["byStatus"])
    # a filtered, sorted table: only matching rows, worst P95 first; the filter ignores case
    some = (await run(session, "deployments-table.graphql", first=1, status=["ACTIVE"]))["deployments"]
    part = rows(some)[0]["modelName"].split("-")[-1]
    table = (
        await run(
            session,
            "deployments-table.graphql",
            status=["ACTIVE"],
            modelName=part.upper(),
            orderBy=[{"field": "P95_LATENCY", "direction": "DESC"}],
        )
    )["deployments"]
    found = rows(table)
    assert found and all(r["status"] == "ACTIVE" and part in r["modelName"] for r in found)
    p95 = [r["metrics"]["p95Latency"] for r in found]
    served = [p for p in p95 if p is not None]  # no traffic in this window: null, sorted last
    assert p95 == [*sorted(served, reverse=True), *[None] * (len(p95) - len(served))]


async def test_deploy_a_job_follow_the_rollout_then_pause_and_resume(session: AsyncClientSession) -> None:
    before = (await run(session, "summary-cards.graphql"))["deploymentStats"]["total"]
    # the deploy dialog lists deployable jobs, most recently finished first
    jobs = (
        await run(
            session,
            "training-jobs.graphql",
            deployable=True,
            orderBy=[{"field": "COMPLETED_AT", "direction": "DESC"}],
        )
    )["trainingJobs"]["nodes"]
    job = jobs[0]
    assert job["status"] == "COMPLETE" and job["deployable"]
    deployed = (await run(session, "deploy.graphql", jobId=job["id"]))["deployJob"]
    assert deployed["errors"] == [], deployed
    dep = deployed["deployment"]
    assert dep["status"] == "DEPLOYING" and dep["trainingJob"]["id"] == job["id"], dep
    # the rollout takes 0 s here: the next request sees its outcome
    node = (await run(session, "refetch-node.graphql", id=dep["id"]))["node"]
    assert node["__typename"] == "Deployment" and node["status"] in ("ACTIVE", "FAILED"), node
    assert (node["statusReason"] is not None) == (node["status"] == "FAILED"), node
    # the detail page: the audit trail and a chart
    detail = (await run(session, "deployment-detail.graphql", id=dep["id"], range="LAST_HOUR"))["deployment"]
    # (an activated version takes its model's traffic in the same transaction: issue 15)
    assert [e["kind"] for e in detail["events"]] == (
        ["CREATED", "ACTIVATED", "TRAFFIC_CHANGED"] if node["status"] == "ACTIVE" else ["CREATED", "FAILED"]
    ), detail["events"]
    assert len(detail["metricsHistory"]["points"]) == 60
    assert detail["trainingJob"]["id"] == job["id"]
    after = (await run(session, "summary-cards.graphql"))["deploymentStats"]
    assert after["total"] == before + 1, (before, after)
    # pause and resume it, or, when its rollout failed, another ACTIVE deployment
    target = dep["id"]
    if node["status"] == "FAILED":
        table = (await run(session, "deployments-table.graphql", first=1, status=["ACTIVE"]))["deployments"]
        target = rows(table)[0]["id"]
    paused = (await run(session, "pause.graphql", id=target))["pauseDeployment"]
    assert paused["errors"] == [] and paused["deployment"]["status"] == "PAUSED", paused
    # pausing twice is an expected failure: reported in `errors`, nothing changes
    again = (await run(session, "pause.graphql", id=target))["pauseDeployment"]
    assert again["deployment"] is None and [e["code"] for e in again["errors"]] == ["INVALID_TRANSITION"], (
        again
    )
    resumed = (await run(session, "resume.graphql", id=target))["resumeDeployment"]
    assert resumed["errors"] == [] and resumed["deployment"]["status"] == "ACTIVE", resumed
    node = (await run(session, "refetch-node.graphql", id=target))["node"]
    assert node["status"] == "ACTIVE", node
    kinds = [
        e["kind"]
        for e in (await run(session, "deployment-detail.graphql", id=target))["deployment"]["events"]
        if e["kind"] != "TRAFFIC_CHANGED"  # the split's own events (issue 15)
    ]
    assert kinds[-2:] == ["PAUSED", "RESUMED"], kinds


async def test_train_a_model_and_watch_it(session: AsyncClientSession) -> None:
    catalog = (await run(session, "base-models.graphql"))["baseModels"]
    created = (
        await run(
            session,
            "create-training-job.graphql",
            modelName="ticket-router",
            baseModel=catalog[0]["name"],
            dataset="tickets-2026",
        )
    )["createTrainingJob"]
    assert created["errors"] == [] and created["trainingJob"]["status"] == "QUEUED"
    job_id = created["trainingJob"]["id"]
    watched = (await run(session, "watch-training-job.graphql", id=job_id))["trainingJob"]
    assert watched["status"] in ("QUEUED", "RUNNING") and not watched["deployable"]
    cancelled = (await run(session, "cancel-training-job.graphql", id=job_id))["cancelTrainingJob"]
    assert cancelled["errors"] == [] and cancelled["trainingJob"]["status"] == "CANCELLED"
    node = (await run(session, "refetch-node.graphql", id=job_id))["node"]
    assert node["__typename"] == "TrainingJob" and node["jobStatus"] == "CANCELLED"
    # an invalid form: one error per field, with its path
    invalid = (
        await run(
            session,
            "create-training-job.graphql",
            modelName="x",
            baseModel="GPT-9",
            dataset="d",
            epochs=0,
        )
    )["createTrainingJob"]
    assert invalid["trainingJob"] is None
    assert {tuple(e["field"]) for e in invalid["errors"]} == {
        ("input", "baseModel"),
        ("input", "hyperparameters", "epochs"),
    }


async def test_a_client_sees_a_clear_error_for_a_bad_request(session: AsyncClientSession) -> None:
    # a page too large: a GraphQL error with a machine-readable code
    with pytest.raises(TransportQueryError) as caught:
        await run(session, "deployments-table.graphql", first=1000)
    assert caught.value.errors is not None
    assert [e["extensions"]["code"] for e in caught.value.errors] == ["PAGE_SIZE_LIMIT"]
    assert "between 0 and 100" in caught.value.errors[0]["message"]
    # a malformed id
    with pytest.raises(TransportQueryError) as caught:
        await run(session, "deployment-detail.graphql", id="not-an-id")
    assert caught.value.errors is not None
    assert [e["extensions"]["code"] for e in caught.value.errors] == ["INVALID_ID"]
    # a value the schema does not allow never reaches a resolver
    with pytest.raises(TransportQueryError) as caught:
        await run(session, "deployment-detail.graphql", id="RGVwbG95bWVudDox", range="LAST_YEAR")
    assert caught.value.errors is not None
    assert "LAST_YEAR" in caught.value.errors[0]["message"]


async def test_every_example_is_valid_against_the_schema_the_live_server_introspects(url: str) -> None:
    async with Client(transport=HTTPXAsyncTransport(url=url), fetch_schema_from_transport=True) as session:
        assert session.client.schema is not None
        for path in sorted(EXAMPLES.glob("*.graphql")):
            session.client.validate(gql(path.read_text()))
