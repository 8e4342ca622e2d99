"""GraphQL over HTTP at its edges: choosing the operation, error codes, validation work, media types, ETags."""

from typing import Any

import httpx
import pytest

from tests.support import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
TWO_QUERIES = "query A { serverTime } query B { serverTime }"


def code(response: httpx.Response) -> Any:
    return response.json()["errors"][0].get("extensions", {}).get("code")


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
