"""GraphQL over HTTP: media types, status codes, GET and ETags, CORS, request ids."""

import logging
from pathlib import Path

import pytest

from tests.support import Api, make_deployment, make_job, running_api
from tests.test_api_mutations import PAUSE, gid

TABLE = "query Table { deployments(first: 5) { totalCount nodes { id status } } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_get_queries_carry_an_etag_and_revalidate_with_304(api: Api) -> None:
    # given
    async with api.db.write() as s:
        dep = await make_deployment(s, make_job(s))
    first = await api.http.get("/graphql", params={"query": TABLE})
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.json()["data"]["deployments"]["totalCount"] == 1
    assert first.headers["cache-control"] == "no-cache"
    # when: polling again with the tag
    again = await api.http.get("/graphql", params={"query": TABLE}, headers={"If-None-Match": etag})
    # then: 304 and no body
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # and after a mutation the poll is never stale
    assert (await api.query(PAUSE, {"id": gid("Deployment", dep.id)}))["pauseDeployment"]["errors"] == []
    after = await api.http.get("/graphql", params={"query": TABLE}, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["data"]["deployments"]["nodes"][0]["status"] == "PAUSED"


async def test_mutations_over_get_are_405_with_allow(api: Api) -> None:
    response = await api.http.get(
        "/graphql", params={"query": 'mutation { deleteDeployment(input: {id: "x"}) { deletedId } }'}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "use POST" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "accept", "status", "has_data"),
    [
        ({"query": "{ deployments { totalCount "}, GRAPHQL_RESPONSE, 400, False),  # parse error
        ({"query": "{ deployments { nope } }"}, GRAPHQL_RESPONSE, 400, False),  # validation error
        (
            {"query": "query($n: Int) { deployments(first: $n) { totalCount } }", "variables": {"n": "x"}},
            GRAPHQL_RESPONSE,
            400,
            False,
        ),
        (
            {"query": '{ deployments(after: "garbage") { totalCount } }'},
            GRAPHQL_RESPONSE,
            200,
            True,
        ),  # field error
        ({"query": "{ deployments { totalCount "}, "application/json", 200, False),
        (
            {"query": "{ deployments { totalCount } }"},
            f"{GRAPHQL_RESPONSE}, application/json;q=0.9",
            200,
            True,
        ),
    ],
)
async def test_media_types_and_status_codes(
    api: Api, body: dict[str, object], accept: str, status: int, has_data: bool
) -> None:
    response = await api.http.post("/graphql", json=body, headers={"Accept": accept})
    assert response.status_code == status
    assert response.headers["content-type"].startswith(accept.split(",")[0])
    assert ("data" in response.json()) == has_data


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"query { x }", {"Content-Type": "text/plain"}, 400),
        (
            b'{"query": "{ serverTime }", "operationName": {"x": 1}}',
            {"Content-Type": "application/json"},
            400,
        ),
        (b'{"query": 42}', {"Content-Type": "application/json"}, 400),
    ],
)
async def test_malformed_requests_are_4xx_json_errors(
    api: Api, content: bytes, headers: dict[str, str], status: int
) -> None:
    response = await api.http.post("/graphql", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["message"]


async def test_every_response_has_a_request_id_and_a_log_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deploydeck.access")
    mine = await api.http.post("/graphql", json={"query": TABLE}, headers={"X-Request-ID": "bug-report-42"})
    theirs = await api.http.post(
        "/graphql", json={"query": "{ serverTime }"}, headers={"X-Request-ID": "<script>"}
    )
    broken = await api.http.post("/graphql", content=b"{", headers={"Content-Type": "application/json"})
    assert mine.headers["x-request-id"] == "bug-report-42"
    assert theirs.headers["x-request-id"] != "<script>" and len(theirs.headers["x-request-id"]) == 32
    assert broken.status_code == 400 and broken.headers["x-request-id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "deploydeck.access"]
    assert any(
        "request_id=bug-report-42" in line
        and "operation=Table" in line
        and "status=200" in line
        and "duration_ms=" in line
        for line in lines
    )
    assert any(
        f"request_id={broken.headers['x-request-id']}" in line and "status=400" in line for line in lines
    )


async def test_cors_is_off_by_default(api: Api) -> None:
    response = await api.http.options(
        "/graphql", headers={"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_configured_origins_only(tmp_path: Path) -> None:
    async with running_api(tmp_path, cors_origins=("https://dash.example.com",)) as api:
        preflight = await api.http.options(
            "/graphql",
            headers={
                "Origin": "https://dash.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://dash.example.com"
        actual = await api.http.post(
            "/graphql", json={"query": "{ serverTime }"}, headers={"Origin": "https://dash.example.com"}
        )
        assert actual.headers["access-control-allow-origin"] == "https://dash.example.com"
        assert "ETag" in actual.headers["access-control-expose-headers"]
        other = await api.http.post(
            "/graphql", json={"query": "{ serverTime }"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
