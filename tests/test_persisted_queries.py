"""Automatic persisted queries over the ASGI app: not found, register, by hash over POST and GET."""

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from settings import parse_settings
from tests.support import Api, make_deployment, make_job, running_api
from tests.test_api_mutations import PAUSE, gid
from tests.test_security import nested

TABLE = "query Table { deployments(first: 5) { totalCount nodes { id status } } }"
STATUS = "query Status($id: ID!) { deployment(id: $id) { status } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document: str, digest: str | None = None, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest or sha(document)}}


async def post(api: Api, document: str | None, extensions: dict[str, Any], **rest: Any) -> httpx.Response:
    body = {"extensions": extensions, **rest} | ({"query": document} if document is not None else {})
    return await api.http.post("/graphql", json=body)


async def get(
    api: Api, extensions: dict[str, Any], headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    query = {"extensions": json.dumps(extensions)} | {k: json.dumps(v) for k, v in params.items()}
    return await api.http.get("/graphql", params=query, headers=headers or {})


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def active(api: Api) -> str:
    async with api.db.write() as s:
        dep = await make_deployment(s, make_job(s))
    return gid("Deployment", dep.id)


async def test_an_unknown_hash_is_not_found_as_apollos_link_expects(api: Api) -> None:
    response = await post(api, None, apq(TABLE))
    assert response.status_code == 200
    assert response.json() == {
        "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
    }
    # nothing was executed: a request error, so the modern media type gets 400
    modern = await api.http.post(
        "/graphql", json={"extensions": apq(TABLE)}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert modern.status_code == 400 and codes(modern) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_the_query_with_its_hash_registers_it_for_post_and_get_by_hash_alone(api: Api) -> None:
    dep = await active(api)
    assert codes(await post(api, None, apq(STATUS), variables={"id": dep})) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await post(api, STATUS, apq(STATUS), variables={"id": dep})
    assert registered.json()["data"] == {"deployment": {"status": "ACTIVE"}}
    by_post = await post(api, None, apq(STATUS), variables={"id": dep})
    assert by_post.json()["data"] == {"deployment": {"status": "ACTIVE"}}
    # a poll: a short GET URL, no query in it; Accept */* (Apollo Client 3) gets JSON, not GraphiQL
    by_get = await get(api, apq(STATUS), {"Accept": "*/*"}, variables={"id": dep})
    assert "query=" not in str(by_get.request.url)
    assert by_get.status_code == 200 and by_get.json()["data"] == {"deployment": {"status": "ACTIVE"}}
    # and it revalidates with its ETag like any GET, never stale after a mutation
    etag = by_get.headers["etag"]
    again = await get(api, apq(STATUS), {"If-None-Match": etag}, variables={"id": dep})
    assert again.status_code == 304 and again.content == b""
    assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
    after = await get(api, apq(STATUS), {"If-None-Match": etag}, variables={"id": dep})
    assert after.status_code == 200 and after.json()["data"]["deployment"]["status"] == "PAUSED"


async def test_a_hash_that_is_not_the_querys_is_refused_and_nothing_runs(api: Api) -> None:
    dep = await active(api)
    wrong = sha(TABLE)
    response = await post(api, PAUSE, apq(PAUSE, wrong), variables={"id": dep})
    assert "data" not in response.json() and codes(response) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert "not the SHA-256 of the query" in response.json()["errors"][0]["message"]
    assert (await api.query(STATUS, {"id": dep}))["deployment"]["status"] == "ACTIVE"
    # and neither hash now stands for the mutation
    assert codes(await post(api, None, apq(PAUSE, wrong), variables={"id": dep})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]
    assert codes(await post(api, None, apq(PAUSE), variables={"id": dep})) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_unsupported_versions_and_malformed_extensions_are_refused(api: Api) -> None:
    response = await post(api, TABLE, apq(TABLE, version=2))
    assert codes(response) == ["PERSISTED_QUERY_VERSION_NOT_SUPPORTED"]
    assert "version 2" in response.json()["errors"][0]["message"]
    for persisted in ("abc", {"version": 1}, {"version": 1, "sha256Hash": "not-hex"}):
        assert codes(await post(api, TABLE, {"persistedQuery": persisted})) == ["PERSISTED_QUERY_INVALID"]


async def test_the_store_is_bounded_least_recently_used_goes_first(tmp_path: Path) -> None:
    a, b, c = ("query A { serverTime }", "query B { serverTime }", "query C { serverTime }")
    async with running_api(tmp_path, max_persisted_queries=2) as api:
        for document in (a, b):
            assert "data" in (await post(api, document, apq(document))).json()
        assert "data" in (await post(api, None, apq(a))).json()  # a used again: b is now the oldest
        assert "data" in (await post(api, c, apq(c))).json()
        assert codes(await post(api, None, apq(b))) == ["PERSISTED_QUERY_NOT_FOUND"]
        for document in (a, c):
            assert "data" in (await post(api, None, apq(document))).json()


async def test_persisted_queries_work_in_batches(api: Api) -> None:
    known, unknown, fresh = ("query K { serverTime }", "query U { serverTime }", "query F { serverTime }")
    await post(api, known, apq(known))
    batch = [
        {"extensions": apq(known)},
        {"extensions": apq(unknown)},
        {"query": fresh, "extensions": apq(fresh)},
    ]
    answers = (await api.http.post("/graphql", json=batch)).json()
    assert ["data" in a for a in answers] == [True, False, True]
    assert answers[1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "data" in (await post(api, None, apq(fresh))).json()


async def test_a_document_over_a_limit_is_refused_and_never_registered(api: Api) -> None:
    deep = nested(6)
    response = await post(api, deep, apq(deep))
    assert "depth" in response.json()["errors"][0]["message"].lower()
    assert codes(await post(api, None, apq(deep))) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_persisted_mutation_runs_by_hash_over_post_but_get_is_405(api: Api) -> None:
    dep = await active(api)
    pause = "mutation Pause($id: ID!) { pauseDeployment(input: {id: $id}) { errors { code } } }"
    assert (await post(api, pause, apq(pause), variables={"id": dep})).json()["data"]["pauseDeployment"] == {
        "errors": []
    }
    response = await get(api, apq(pause), variables={"id": dep})
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    again = await post(api, None, apq(pause), variables={"id": dep})
    assert again.json()["data"]["pauseDeployment"]["errors"] == [{"code": "INVALID_TRANSITION"}]


def test_the_store_size_is_a_setting() -> None:
    assert parse_settings([], env={}).max_persisted_queries == 1000
    assert parse_settings([], env={"DEPLOYDECK_MAX_PERSISTED_QUERIES": "5"}).max_persisted_queries == 5
    flags = ["--max-persisted-queries", "7"]
    assert parse_settings(flags, env={"DEPLOYDECK_MAX_PERSISTED_QUERIES": "5"}).max_persisted_queries == 7
