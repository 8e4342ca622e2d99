"""Bad input never causes a 500: each gets a clear GraphQL error with extensions.code."""

import base64
import json
from typing import Any

import pytest

from tests.support import Api, make_deployment, make_job

B64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731


@pytest.mark.parametrize(
    ("query", "variables", "code", "phrase"),
    [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "not-base64!"}, "INVALID_ID", "not a valid ID"),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": B64("Deployment:abc")},
            "INVALID_ID",
            "not a valid ID",
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": B64("Deployment:-3")},
            "INVALID_ID",
            "not a valid ID",
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": B64("Deployment:" + "9" * 30)},
            "INVALID_ID",
            "not a valid ID",
        ),
        (
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": B64("Spaceship:1")},
            "INVALID_ID",
            "unknown type",
        ),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "x" * 5000}, "INVALID_ID", "not a valid ID"),
        (
            "query($id: ID!) { deployment(id: $id) { id } }",
            {"id": B64("TrainingJob:1")},
            "INVALID_ID",
            "not a Deployment",
        ),
        (
            "query($id: ID!) { trainingJob(id: $id) { id } }",
            {"id": B64("Deployment:1")},
            "INVALID_ID",
            "not a TrainingJob",
        ),
        (
            "query($id: ID!) { deployments(filter: {trainingJobId: $id}) { totalCount } }",
            {"id": B64("Deployment:1")},
            "INVALID_ID",
            "not a TrainingJob",
        ),
        ("{ deployments(first: -1) { totalCount } }", {}, "PAGE_SIZE_LIMIT", "between 0 and 100"),
        ("{ deployments(first: 101) { totalCount } }", {}, "PAGE_SIZE_LIMIT", "between 0 and 100"),
        ("{ trainingJobs(last: 1000000) { totalCount } }", {}, "PAGE_SIZE_LIMIT", "between 0 and 100"),
        ("{ deployments(first: 1, last: 1) { totalCount } }", {}, "INVALID_PAGINATION", "not both"),
        ('{ deployments(after: "garbage") { totalCount } }', {}, "INVALID_CURSOR", "not a valid cursor"),
        ('{ trainingJobs(before: "e30=") { totalCount } }', {}, "INVALID_CURSOR", "not a valid cursor"),
        (
            "{ deployments(orderBy: [{field: STATUS}, {field: STATUS}]) { totalCount } }",
            {},
            "INVALID_ORDER",
            "more than once",
        ),
    ],
)
async def test_bad_arguments_are_clear_errors(
    api: Api, query: str, variables: dict[str, Any], code: str, phrase: str
) -> None:
    error = await api.error(query, variables)
    assert error["extensions"]["code"] == code
    assert phrase in error["message"]
    # and the server keeps serving
    assert (await api.query("{ serverTime }"))["serverTime"]


async def test_cursor_from_another_order_is_refused(api: Api) -> None:
    async with api.db.write() as s:
        job = make_job(s)
        for minor in range(3):
            await make_deployment(s, job, minor=minor)
    cursor = (await api.query("{ deployments(first: 1) { pageInfo { endCursor } } }"))["deployments"][
        "pageInfo"
    ]["endCursor"]
    error = await api.error(
        "query($c: String) { deployments(first: 1, after: $c, orderBy: [{field: VERSION}]) { totalCount } }",
        {"c": cursor},
    )
    assert error["extensions"]["code"] == "INVALID_CURSOR"
    assert "different orderBy" in error["message"]


@pytest.mark.parametrize(
    "payload",
    [
        '{"o": "created_at-,id-", "v": ["yesterday", 1]}',
        '{"o": "created_at-,id-", "v": [null, 1]}',
        '{"o": "created_at-,id-", "v": ["2026-01-01T00:00:00+00:00", "1"]}',
        '{"o": "created_at-,id-", "v": ["2026-01-01T00:00:00"]}',
        "[1, 2]",
    ],
)
async def test_tampered_cursors_are_refused(api: Api, payload: str) -> None:
    cursor = base64.urlsafe_b64encode(payload.encode()).decode()
    error = await api.error("query($c: String) { deployments(after: $c) { totalCount } }", {"c": cursor})
    assert error["extensions"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("connection", ["deployments", "trainingJobs"])
@pytest.mark.parametrize("row_id", [2**31, -(2**31) - 1, 2**63])
async def test_a_cursor_id_no_database_integer_holds_is_invalid(
    api: Api, connection: str, row_id: int
) -> None:
    async with api.db.write() as s:
        job = make_job(s)
        for minor in range(2):
            await make_deployment(s, job, minor=minor)
    query = f"query($c: String) {{ {connection}(first: 1, after: $c) {{ nodes {{ id }} pageInfo {{ endCursor }} }} }}"
    real = (await api.query(query))[connection]["pageInfo"]["endCursor"]
    payload = json.loads(base64.urlsafe_b64decode(real))
    payload["v"][-1] = row_id  # the id tie-breaker
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()  # orjson refuses such ints
    error = await api.error(query, {"c": forged})
    assert error["extensions"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("row_id", [2**31, 4144084244])
async def test_an_id_beyond_a_database_integer_is_invalid(api: Api, row_id: int) -> None:
    error = await api.error("query($id: ID!) { node(id: $id) { id } }", {"id": B64(f"Deployment:{row_id}")})
    assert error["extensions"]["code"] == "INVALID_ID"
    assert (
        await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": B64(f"Deployment:{2**31 - 1}")})
    )["node"] is None  # the largest possible id is merely not there


async def test_nodes_limit(api: Api) -> None:
    ids = [B64(f"Deployment:{i}") for i in range(1, 102)]
    error = await api.error("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert error["extensions"]["code"] == "TOO_MANY_IDS"


async def test_unknown_enum_and_field_are_validation_errors(api: Api) -> None:
    body = await api.post("{ deployments(orderBy: [{field: POPULARITY}]) { totalCount } }")
    assert body["errors"] and body.get("data") is None
    body = await api.post("{ deployments { nope } }")
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("name", "status"), [('"a\\u0000b"', 200), ('"' + "x" * 101 + '"', 200), ('"\\ud800"', 400)]
)
async def test_name_filters_that_no_name_can_match_are_refused(api: Api, name: str, status: int) -> None:
    # raw JSON: a lone surrogate cannot even be encoded by the client library; the server's
    # JSON decoder refuses it (400), the others are GraphQL errors
    query = "query($n: String) { deployments(filter: {modelName: $n}) { totalCount } }"
    body = '{"query": "' + query + '", "variables": {"n": ' + name + "}}"
    response = await api.http.post(
        "/graphql", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    error = response.json()["errors"][0]
    if status == 200:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    else:
        assert "JSON" in error["message"]


async def test_a_forged_cursor_with_a_control_character_is_refused(api: Api) -> None:
    cursor = base64.urlsafe_b64encode(b'{"o": "model_name+,id+", "v": ["a\\u0000", 1]}').decode()
    error = await api.error(
        "query($c: String) { deployments(after: $c, orderBy: [{field: MODEL_NAME}]) { totalCount } }",
        {"c": cursor},
    )
    assert error["extensions"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize("order", ["[{field: CREATED_AT}]", "[{field: P95_LATENCY}]"])
async def test_a_cursor_from_another_filter_is_refused(api: Api, order: str) -> None:
    async with api.db.write() as s:
        job = make_job(s)
        for minor in range(3):
            await make_deployment(s, job, minor=minor)
    query = (
        "query($c: String, $f: DeploymentFilter) { deployments(first: 1, after: $c, filter: $f, orderBy: "
        + order
        + ") { pageInfo { endCursor } } }"
    )
    cursor = (await api.query(query, {"f": {"status": ["ACTIVE"]}}))["deployments"]["pageInfo"]["endCursor"]
    # the same filter continues; another one is refused
    assert (await api.query(query, {"c": cursor, "f": {"status": ["ACTIVE"]}}))["deployments"]["pageInfo"][
        "endCursor"
    ]
    error = await api.error(query, {"c": cursor, "f": {"status": ["PAUSED"]}})
    assert error["extensions"]["code"] == "INVALID_CURSOR" and "different filter" in error["message"]
