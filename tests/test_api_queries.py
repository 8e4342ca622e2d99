"""Browsing training jobs and deployments: connections, filters, orders, lookups."""

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.support import T0, Api, make_deployment, make_job

DEPLOYMENTS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: DeploymentFilter,
      $orderBy: [DeploymentOrder!]) {
  deployments(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId } }
    nodes { id databaseId modelName version status createdAt updatedAt modelSize }
  }
}"""

JOBS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: TrainingJobFilter,
      $orderBy: [TrainingJobOrder!]) {
  trainingJobs(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { databaseId } }
    nodes { id databaseId modelName status finalLoss completedAt createdAt deployable
            hyperparameters { learningRate epochs batchSize loraRank } }
  }
}"""


async def seed_fleet(api: Api) -> None:
    """14 deployments over 4 models: ties on created_at, versions past v1.9.0, every status."""
    async with api.db.write() as s:
        jobs = [
            make_job(s, model_name="Support-Triage", model_size="NANO"),
            make_job(s, model_name="invoice-extractor", model_size="SMALL"),
            make_job(s, model_name="sql-copilot", model_size="LARGE"),
            make_job(s, model_name="search-reranker", model_size="SMALL"),
        ]
        statuses = ["ACTIVE", "PAUSED", "FAILED", "DEPLOYING"]
        for i in range(14):
            job = jobs[0] if i < 11 else jobs[1 + i % 3]
            await make_deployment(
                s,
                job,
                minor=i if i < 11 else 0,
                status=statuses[i % 4],
                # pairs share a timestamp, so the id tie-breaker matters
                created_at=T0 - timedelta(hours=10 - i // 2),
                updated_at=T0 - timedelta(minutes=i * 7 % 13),
            )


async def page_through(
    api: Api, query: str, root: str, variables: dict[str, Any], size: int, backwards: bool
) -> list[int]:
    """Every databaseId visited by following cursors forwards (or backwards) one page at a time."""
    seen: list[int] = []
    cursor = None
    while True:
        args = {"last": size, "before": cursor} if backwards else {"first": size, "after": cursor}
        conn = (await api.query(query, {**variables, **args}))[root]
        ids = [e["node"]["databaseId"] for e in conn["edges"]]
        seen = ids + seen if backwards else seen + ids
        info = conn["pageInfo"]
        if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
            return seen
        cursor = info["startCursor"] if backwards else info["endCursor"]


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v[1:].split("."))


DEPLOYMENT_ORDERS = [
    ([{"field": "CREATED_AT", "direction": "DESC"}], lambda n: (n["createdAt"],), True),
    ([{"field": "CREATED_AT", "direction": "ASC"}], lambda n: (n["createdAt"],), False),
    ([{"field": "UPDATED_AT", "direction": "DESC"}], lambda n: (n["updatedAt"],), True),
    ([{"field": "MODEL_NAME"}], lambda n: (n["modelName"],), False),
    ([{"field": "VERSION", "direction": "DESC"}], lambda n: version_key(n["version"]), True),
    (
        [{"field": "STATUS"}],
        lambda n: (["DEPLOYING", "ACTIVE", "PAUSED", "FAILED"].index(n["status"]),),
        False,
    ),
]


@pytest.mark.parametrize(("order", "key", "desc"), DEPLOYMENT_ORDERS)
async def test_deployments_page_through_each_order_both_ways(
    api: Api, order: list[dict[str, str]], key: Any, desc: bool
) -> None:
    # given
    await seed_fleet(api)
    everything = (await api.query(DEPLOYMENTS, {"first": 100, "orderBy": order}))["deployments"]
    nodes = everything["nodes"]
    # then: one page holds all, in order, ties broken by id in the key's direction
    expected = sorted(nodes, key=lambda n: (key(n), n["databaseId"]), reverse=desc)
    assert [n["databaseId"] for n in nodes] == [n["databaseId"] for n in expected]
    assert everything["totalCount"] == 14
    # when: paging 3 at a time forwards and backwards
    forwards = await page_through(api, DEPLOYMENTS, "deployments", {"orderBy": order}, 3, backwards=False)
    backwards = await page_through(api, DEPLOYMENTS, "deployments", {"orderBy": order}, 3, backwards=True)
    # then: every item exactly once, in order
    assert forwards == [n["databaseId"] for n in nodes]
    assert backwards == forwards


async def test_default_order_is_newest_first_and_version_order_is_semantic(api: Api) -> None:
    await seed_fleet(api)
    default = (await api.query(DEPLOYMENTS, {"first": 100}))["deployments"]["nodes"]
    assert [n["createdAt"] for n in default] == sorted((n["createdAt"] for n in default), reverse=True)
    by_version = (
        await api.query(
            DEPLOYMENTS,
            {
                "first": 100,
                "filter": {"modelName": "triage"},
                "orderBy": [{"field": "VERSION", "direction": "ASC"}],
            },
        )
    )["deployments"]["nodes"]
    versions = [n["version"] for n in by_version]
    assert versions[-2:] == ["v1.9.0", "v1.10.0"]


async def test_multi_key_order(api: Api) -> None:
    await seed_fleet(api)
    order = [{"field": "MODEL_NAME", "direction": "ASC"}, {"field": "VERSION", "direction": "DESC"}]
    nodes = (await api.query(DEPLOYMENTS, {"first": 100, "orderBy": order}))["deployments"]["nodes"]
    keys = [(n["modelName"], [-x for x in version_key(n["version"])]) for n in nodes]
    assert keys == sorted(keys)
    assert await page_through(api, DEPLOYMENTS, "deployments", {"orderBy": order}, 4, False) == [
        n["databaseId"] for n in nodes
    ]


@pytest.mark.parametrize(
    ("flt", "predicate"),
    [
        ({"status": ["ACTIVE", "PAUSED"]}, lambda n: n["status"] in ("ACTIVE", "PAUSED")),
        ({"status": []}, lambda n: False),
        ({"modelName": "TRIAGE"}, lambda n: "triage" in n["modelName"].lower()),
        ({"modelName": "_"}, lambda n: "_" in n["modelName"]),
        ({"modelSize": ["SMALL", "LARGE"]}, lambda n: n["modelSize"] in ("SMALL", "LARGE")),
        (
            {"createdAfter": (T0 - timedelta(hours=7)).isoformat()},
            lambda n: n["createdAt"] >= (T0 - timedelta(hours=7)).isoformat(),
        ),
        (
            {"createdBefore": "2026-11-02T03:00:00Z"},
            lambda n: n["createdAt"] < (T0 - timedelta(hours=9)).isoformat(),
        ),
        (
            {"status": ["ACTIVE"], "modelSize": ["NANO"]},
            lambda n: n["status"] == "ACTIVE" and n["modelSize"] == "NANO",
        ),
    ],
)
async def test_deployment_filters(api: Api, flt: dict[str, Any], predicate: Any) -> None:
    await seed_fleet(api)
    everything = (await api.query(DEPLOYMENTS, {"first": 100}))["deployments"]["nodes"]
    conn = (await api.query(DEPLOYMENTS, {"first": 100, "filter": flt}))["deployments"]
    expected = [n["databaseId"] for n in everything if predicate(n)]
    assert [n["databaseId"] for n in conn["nodes"]] == expected
    assert conn["totalCount"] == len(expected)


async def test_filter_by_training_job(api: Api) -> None:
    await seed_fleet(api)
    jobs = await api.query(
        "{ trainingJobs(first: 10, orderBy: [{field: MODEL_NAME}]) { nodes { id modelName } } }"
    )
    job = next(j for j in jobs["trainingJobs"]["nodes"] if j["modelName"] == "sql-copilot")
    conn = (await api.query(DEPLOYMENTS, {"first": 100, "filter": {"trainingJobId": job["id"]}}))[
        "deployments"
    ]
    assert {n["modelName"] for n in conn["nodes"]} == {"sql-copilot"}
    assert conn["totalCount"] == 1


async def test_page_info_and_last(api: Api) -> None:
    await seed_fleet(api)
    first = (await api.query(DEPLOYMENTS, {"first": 5}))["deployments"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    last = (await api.query(DEPLOYMENTS, {"last": 5}))["deployments"]
    everything = (await api.query(DEPLOYMENTS, {"first": 100}))["deployments"]["nodes"]
    assert [n["databaseId"] for n in last["nodes"]] == [n["databaseId"] for n in everything[-5:]]
    assert last["pageInfo"]["hasPreviousPage"] is True
    empty = (await api.query(DEPLOYMENTS, {"first": 0}))["deployments"]
    assert empty["nodes"] == [] and empty["totalCount"] == 14
    assert empty["pageInfo"]["hasNextPage"] is True


async def test_deleted_rows_are_hidden(api: Api) -> None:
    async with api.db.write() as s:
        job = make_job(s)
        gone = await make_deployment(s, job, status="PAUSED", deleted_at=T0)
        kept = await make_deployment(s, job, minor=1)
    nodes = (await api.query(DEPLOYMENTS, {"first": 10}))["deployments"]["nodes"]
    assert [n["databaseId"] for n in nodes] == [kept.id]
    gid = base64.b64encode(f"Deployment:{gone.id}".encode()).decode()
    assert (
        await api.query("query($id: ID!) { deployment(id: $id) { id } node(id: $id) { id } }", {"id": gid})
    ) == {
        "deployment": None,
        "node": None,
    }


JOB_ORDERS = [
    ([{"field": "CREATED_AT", "direction": "DESC"}], "createdAt", True),
    ([{"field": "COMPLETED_AT", "direction": "ASC"}], "completedAt", False),
    ([{"field": "COMPLETED_AT", "direction": "DESC"}], "completedAt", True),
    ([{"field": "FINAL_LOSS", "direction": "ASC"}], "finalLoss", False),
    ([{"field": "FINAL_LOSS", "direction": "DESC"}], "finalLoss", True),
    ([{"field": "MODEL_NAME", "direction": "DESC"}], "modelName", True),
    ([{"field": "STATUS", "direction": "ASC"}], "status", False),
]
JOB_STATUS_RANK = ["QUEUED", "RUNNING", "COMPLETE", "FAILED", "CANCELLED"]


async def seed_jobs(api: Api) -> None:
    async with api.db.write() as s:
        for i, status in enumerate(JOB_STATUS_RANK * 3):
            done = status in ("COMPLETE", "FAILED", "CANCELLED")
            make_job(
                s,
                model_name=f"job-{i % 4}",
                status=status,
                final_loss=[0.4, 0.3, 0.4][i % 3] if status == "COMPLETE" else None,
                completed_at=T0 - timedelta(hours=i % 5) if done else None,
                created_at=T0 - timedelta(days=1, hours=i // 2),
            )


@pytest.mark.parametrize(("order", "field", "desc"), JOB_ORDERS)
async def test_jobs_page_through_each_order_nulls_last(
    api: Api, order: list[dict[str, str]], field: str, desc: bool
) -> None:
    await seed_jobs(api)
    nodes = (await api.query(JOBS, {"first": 100, "orderBy": order}))["trainingJobs"]["nodes"]
    assert len(nodes) == 15
    present = [n for n in nodes if n[field] is not None]
    missing = [n for n in nodes if n[field] is None]
    # nulls last whichever the direction
    assert nodes == present + missing

    def key(n: dict[str, Any]) -> Any:
        return JOB_STATUS_RANK.index(n[field]) if field == "status" else n[field]

    assert present == sorted(present, key=lambda n: (key(n), n["databaseId"]), reverse=desc)
    assert missing == sorted(missing, key=lambda n: n["databaseId"], reverse=desc)
    ids = [n["databaseId"] for n in nodes]
    assert await page_through(api, JOBS, "trainingJobs", {"orderBy": order}, 4, False) == ids
    assert await page_through(api, JOBS, "trainingJobs", {"orderBy": order}, 4, True) == ids


@pytest.mark.parametrize(
    ("flt", "predicate"),
    [
        ({"status": ["RUNNING", "QUEUED"]}, lambda n: n["status"] in ("RUNNING", "QUEUED")),
        ({"modelName": "JOB-1"}, lambda n: n["modelName"] == "job-1"),
        ({"deployable": True}, lambda n: n["status"] == "COMPLETE"),
        ({"deployable": False}, lambda n: n["status"] != "COMPLETE"),
    ],
)
async def test_job_filters(api: Api, flt: dict[str, Any], predicate: Any) -> None:
    await seed_jobs(api)
    everything = (await api.query(JOBS, {"first": 100}))["trainingJobs"]["nodes"]
    conn = (await api.query(JOBS, {"first": 100, "filter": flt}))["trainingJobs"]
    expected = [n["databaseId"] for n in everything if predicate(n)]
    assert expected and [n["databaseId"] for n in conn["nodes"]] == expected
    assert conn["totalCount"] == len(expected)
    assert all(n["deployable"] == (n["status"] == "COMPLETE") for n in conn["nodes"])


NODE_LOOKUPS = """
query($job: ID!, $dep: ID!) {
  trainingJob(id: $job) { id databaseId modelName }
  deployment(id: $dep) { id databaseId version endpoint trainingJob { id modelName } }
  node(id: $dep) { __typename id ... on Deployment { version } }
  nodes(ids: [$job, $dep]) { __typename id ... on TrainingJob { modelName } }
}"""


async def test_lookups_by_global_id(api: Api) -> None:
    # given
    async with api.db.write() as s:
        job = make_job(s, model_name="sql-copilot")
        dep = await make_deployment(s, job, minor=3)
    jobs = (await api.query(JOBS, {"first": 1}))["trainingJobs"]["nodes"]
    deps = (await api.query(DEPLOYMENTS, {"first": 1}))["deployments"]["nodes"]
    job_id, dep_id = jobs[0]["id"], deps[0]["id"]
    # when
    data = await api.query(NODE_LOOKUPS, {"job": job_id, "dep": dep_id})
    # then
    assert data["trainingJob"] == {"id": job_id, "databaseId": job.id, "modelName": "sql-copilot"}
    assert data["deployment"]["databaseId"] == dep.id
    assert data["deployment"]["version"] == "v1.3.0"
    assert data["deployment"]["trainingJob"] == {"id": job_id, "modelName": "sql-copilot"}
    assert data["node"] == {"__typename": "Deployment", "id": dep_id, "version": "v1.3.0"}
    assert data["nodes"] == [
        {"__typename": "TrainingJob", "id": job_id, "modelName": "sql-copilot"},
        {"__typename": "Deployment", "id": dep_id},
    ]
    # global ids are opaque but stable, and unknown rows are null
    missing = base64.b64encode(b"Deployment:99999").decode()
    assert (await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": missing}))["node"] is None


NESTED = """
{
  trainingJobs(first: 20, orderBy: [{field: MODEL_NAME}]) {
    nodes {
      modelName
      deployments(first: 2, orderBy: [{field: VERSION, direction: DESC}]) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { version trainingJob { modelName } events { kind } }
      }
    }
  }
}"""


async def count_selects(
    api: Api, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], int]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = api.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        data = await api.query(query, variables)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return data, sum(s.lstrip().upper().startswith("SELECT") for s in statements)


async def add_jobs(api: Api, first: int, count: int) -> None:
    async with api.db.write() as s:
        for j in range(first, first + count):
            job = make_job(s, model_name=f"m{j:02d}")
            for minor in range(3):
                await make_deployment(s, job, minor=minor)


async def test_nested_connections_without_n_plus_one(api: Api) -> None:
    # given: 4 jobs with 3 deployments each
    await add_jobs(api, 0, 4)
    _, few = await count_selects(api, NESTED)
    # when: four times as many jobs
    await add_jobs(api, 4, 12)
    data, many = await count_selects(api, NESTED)
    # then: right answers, from the same number of queries
    jobs = data["trainingJobs"]["nodes"]
    assert len(jobs) == 16
    for job in jobs:
        conn = job["deployments"]
        assert conn["totalCount"] == 3
        assert [n["version"] for n in conn["nodes"]] == ["v1.2.0", "v1.1.0"]
        assert conn["pageInfo"]["hasNextPage"] is True
        assert {n["trainingJob"]["modelName"] for n in conn["nodes"]} == {job["modelName"]}
        assert all(n["events"][0]["kind"] == "CREATED" for n in conn["nodes"])
    assert many == few


async def test_nested_page_continues_with_cursor(api: Api) -> None:
    async with api.db.write() as s:
        job = make_job(s, model_name="solo")
        for minor in range(5):
            await make_deployment(s, job, minor=minor)
    query = """query($after: String) { trainingJobs(first: 1) { nodes { deployments(first: 2, after: $after,
        orderBy: [{field: VERSION}]) { pageInfo { endCursor hasNextPage } nodes { version } } } } }"""
    versions: list[str] = []
    after = None
    while True:
        conn = (await api.query(query, {"after": after}))["trainingJobs"]["nodes"][0]["deployments"]
        versions += [n["version"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert versions == [f"v1.{i}.0" for i in range(5)]


async def test_base_models_catalog(api: Api) -> None:
    models = (await api.query("{ baseModels { name parameterCount modelSize } }"))["baseModels"]
    sizes = {m["modelSize"] for m in models}
    assert sizes == {"NANO", "SMALL", "LARGE"}
    for m in models:
        expected = "NANO" if m["parameterCount"] < 1e9 else "SMALL" if m["parameterCount"] < 7e9 else "LARGE"
        assert m["modelSize"] == expected


async def test_server_time_is_the_request_clock(api: Api) -> None:
    assert (await api.query("{ serverTime }"))["serverTime"] == T0.isoformat()
    api.clock.advance(minutes=5)
    assert (await api.query("{ serverTime }"))["serverTime"] == (T0 + timedelta(minutes=5)).isoformat()


async def test_nodes_fetches_every_id_at_once(api: Api) -> None:
    await add_jobs(api, 0, 2)  # deployments 1 to 6
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Deployment { version } } }"

    async def selects_for(count: int) -> int:
        ids = [base64.b64encode(f"Deployment:{i}".encode()).decode() for i in range(1, count + 1)]
        data, selects = await count_selects(api, query, {"ids": ids})
        assert [n and n["id"] for n in data["nodes"]] == [i if n <= 6 else None for n, i in enumerate(ids, 1)]
        return selects

    assert await selects_for(2) == await selects_for(50)
