"""GraphQL over HTTP at its edges: choosing the operation, error codes, validation work, media types, ETags."""

from typing import Any

import httpx
import pytest

from tests.support import Api, make_deployment, make_job
from tests.test_api_mutations import gid

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
TWO_QUERIES = "query A { serverTime } query B { serverTime }"


def code(response: httpx.Response) -> Any:
    return response.json()["errors"][0].get("extensions", {}).get("code")


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_several_operations_without_an_operation_name_are_a_request_error(
    api: Api, accept: str, status: int, method: str
) -> None:
    # GraphQL spec, GetOperation: "Must provide operation name if query contains multiple operations."
    response = await api.http.request(
        method,
        "/graphql",
        headers={"Accept": accept},
        **({"params": {"query": TWO_QUERIES}} if method == "GET" else {"json": {"query": TWO_QUERIES}}),
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith(accept)
    assert "data" not in response.json()
    assert "Must provide operation name" in response.json()["errors"][0]["message"]
    assert code(response) == "OPERATION_RESOLUTION_FAILURE"
    # naming one runs it
    named = await api.http.post("/graphql", json={"query": TWO_QUERIES, "operationName": "B"})
    assert named.status_code == 200 and "serverTime" in named.json()["data"]


async def test_a_first_operation_that_is_a_mutation_does_not_run_without_an_operation_name(api: Api) -> None:
    async with api.db.write() as s:
        dep = await make_deployment(s, make_job(s))
    document = (
        "mutation Pause($id: ID!) { pauseDeployment(input: {id: $id}) { errors { code } } } "
        "query Look($id: ID!) { node(id: $id) { ... on Deployment { status } } }"
    )
    variables = {"id": gid("Deployment", dep.id)}
    response = await api.http.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200 and "data" not in response.json()
    assert code(response) == "OPERATION_RESOLUTION_FAILURE"
    look = await api.http.post(
        "/graphql", json={"query": document, "variables": variables, "operationName": "Look"}
    )
    assert look.json()["data"]["node"]["status"] == "ACTIVE"  # the mutation never ran


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_an_operation_name_the_document_does_not_define_is_a_request_error(
    api: Api, accept: str, status: int
) -> None:
    response = await api.http.post(
        "/graphql", json={"query": TWO_QUERIES, "operationName": "C"}, headers={"Accept": accept}
    )
    assert response.status_code == status and "data" not in response.json()
    assert "Unknown operation named" in response.json()["errors"][0]["message"]
    assert code(response) == "OPERATION_RESOLUTION_FAILURE"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"query": "{ serverTime "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{" + " serverTime" * 5000 + " }"}, "GRAPHQL_PARSE_FAILED"),  # the token limit
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "{" + " ".join(f"a{i}: serverTime" for i in range(31)) + " }"},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            {"query": "query($n: Int) { deployments(first: $n) { totalCount } }", "variables": {"n": "x"}},
            "BAD_USER_INPUT",
        ),
        ({"query": "query($n: Int!) { deployments(first: $n) { totalCount } }"}, "BAD_USER_INPUT"),
    ],
)
async def test_request_errors_carry_a_code(api: Api, body: dict[str, Any], expected: str) -> None:
    response = await api.http.post("/graphql", json=body)
    assert response.status_code == 200 and "data" not in response.json()
    assert {e["extensions"]["code"] for e in response.json()["errors"]} == {expected}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "expected"),
    [
        (b"{not json", JSON, 400, "INVALID_JSON"),
        (b"{ serverTime }", "text/plain", 400, "UNSUPPORTED_MEDIA_TYPE"),
        (
            b'[{"query": "{ serverTime }"}' + b', {"query": "{ serverTime }"}' * 10 + b"]",
            JSON,
            400,
            "TOO_MANY_OPERATIONS",
        ),
        (b"{}", JSON, 400, "MISSING_QUERY"),
        (b'{"query": 42}', JSON, 400, "INVALID_REQUEST"),
        (b'{"query": "{ serverTime }", "operationName": {"x": 1}}', JSON, 400, "INVALID_REQUEST"),
    ],
)
async def test_transport_errors_carry_a_code(
    api: Api, content: bytes, content_type: str, status: int, expected: str
) -> None:
    response = await api.http.post("/graphql", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert code(response) == expected


async def test_a_mutation_over_get_carries_a_code(api: Api) -> None:
    response = await api.http.get(
        "/graphql", params={"query": 'mutation { deleteDeployment(input: {id: "x"}) { deletedId } }'}
    )
    assert response.status_code == 405 and code(response) == "METHOD_NOT_ALLOWED"


async def test_a_field_repeated_past_what_validation_compares_is_refused_with_a_code(api: Api) -> None:
    # graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of fields sharing a response
    # name and gives up past its budget (500,000): ~700 copies of one leaf in one selection set.
    fits = await api.http.post("/graphql", json={"query": "{" + " serverTime" * 700 + " }"})
    assert "serverTime" in fits.json()["data"]
    over = await api.http.post(
        "/graphql", json={"query": "{" + " serverTime" * 1000 + " }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert over.status_code == 400 and "data" not in over.json()
    assert code(over) == "QUERY_TOO_COMPLEX"
    assert "select each field once" in over.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type", ["Application/JSON", "APPLICATION/JSON; Charset=UTF-8", "application/json; charset=utf-8"]
)
async def test_media_types_are_case_insensitive(api: Api, content_type: str) -> None:
    response = await api.http.post(
        "/graphql", content=b'{"query": "{ serverTime }"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 200 and "serverTime" in response.json()["data"]


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("{etag}", 304),
        ("W/{etag}", 304),  # If-None-Match compares weakly (RFC 9110 13.1.2)
        ("*", 304),  # any current representation
        ('"a", {etag}', 304),
        ('W/"a",W/{etag}', 304),
        ('"a", "b"', 200),
        ('W/"a"', 200),
    ],
)
async def test_if_none_match_compares_weakly(api: Api, if_none_match: str, status: int) -> None:
    params = {"query": "{ deployments { totalCount } }"}
    etag = (await api.http.get("/graphql", params=params)).headers["etag"]
    response = await api.http.get(
        "/graphql", params=params, headers={"If-None-Match": if_none_match.format(etag=etag)}
    )
    assert response.status_code == status and response.headers["etag"] == etag
