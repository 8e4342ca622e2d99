"""setModelAlias / removeModelAlias (issue 15, item 6): protected, named pointers to one version."""

from pathlib import Path

import pytest

from tests.support import Api
from tests.test_api_split import SET as SPLIT
from tests.test_api_traffic import shares, versions
from tests.test_response_cache import cache, cached_api

SET = """mutation($model: String!, $alias: String!, $id: ID!) {
  setModelAlias(input: {modelName: $model, alias: $alias, deploymentId: $id}) {
    model { aliases { name updatedBy deployment { version aliases } } } errors { code message field } } }"""
REMOVE = """mutation($model: String!, $alias: String!) { removeModelAlias(input: {modelName: $model, alias: $alias}) {
    model { aliases { name } } errors { code message field } } }"""
DELETE = """mutation($id: ID!) { deleteDeployment(input: {id: $id}) { deletedId errors { code message field } } }"""
PAUSE = """mutation($id: ID!) { pauseDeployment(input: {id: $id}) { deployment { id } errors { code message } } }"""
TRAIL = """query($id: ID!) { deployment(id: $id) { status aliases events { kind actor message } } }"""


async def test_aliases_point_at_versions_and_protect_them(api: Api) -> None:
    # given
    v0, v1 = await versions(api, 2)
    # when
    first = (await api.query(SET, {"model": "ranker", "alias": "production", "id": v0}))["setModelAlias"]
    second = (await api.query(SET, {"model": "ranker", "alias": "staging", "id": v1}))["setModelAlias"]
    # then
    assert first["errors"] == [] and second["errors"] == []
    assert second["model"]["aliases"] == [
        {
            "name": "production",
            "updatedBy": "anonymous",
            "deployment": {"version": "v1.0.0", "aliases": ["production"]},
        },
        {
            "name": "staging",
            "updatedBy": "anonymous",
            "deployment": {"version": "v1.1.0", "aliases": ["staging"]},
        },
    ]
    trail = (await api.query(TRAIL, {"id": v0}))["deployment"]
    assert trail["events"][-1] == {
        "kind": "ALIAS_SET",
        "actor": "anonymous",
        "message": "Alias production → v1.0.0",
    }
    # an aliased version cannot be paused; nothing changes
    refused = (await api.query(PAUSE, {"id": v1}))["pauseDeployment"]
    assert [e["code"] for e in refused["errors"]] == ["PROTECTED"] and "staging" in refused["errors"][0][
        "message"
    ]
    assert await shares(api, [v0, v1]) == [0.0, 100.0]
    # moving the alias frees the version it pointed at
    moved = (await api.query(SET, {"model": "ranker", "alias": "staging", "id": v0}))["setModelAlias"]
    assert [(a["name"], a["deployment"]["version"]) for a in moved["model"]["aliases"]] == [
        ("production", "v1.0.0"),
        ("staging", "v1.0.0"),
    ]
    freed = (await api.query(TRAIL, {"id": v1}))["deployment"]
    assert freed["aliases"] == []
    assert freed["events"][-1] == {
        "kind": "ALIAS_REMOVED",
        "actor": "anonymous",
        "message": "Alias staging moved to v1.0.0",
    }
    assert (await api.query(PAUSE, {"id": v1}))["pauseDeployment"]["errors"] == []
    assert (await api.query(DELETE, {"id": v1}))["deleteDeployment"]["errors"] == []
    # removing both frees v1.0.0 too
    await api.query(REMOVE, {"model": "ranker", "alias": "staging"})
    await api.query(PAUSE, {"id": v0})  # protected by production still
    assert (await api.query(TRAIL, {"id": v0}))["deployment"]["status"] == "ACTIVE"
    removed = (await api.query(REMOVE, {"model": "ranker", "alias": "production"}))["removeModelAlias"]
    assert removed == {"model": {"aliases": []}, "errors": []}
    assert (await api.query(PAUSE, {"id": v0}))["pauseDeployment"]["errors"] == []
    trail = (await api.query(TRAIL, {"id": v0}))["deployment"]["events"]
    assert {
        "kind": "ALIAS_REMOVED",
        "actor": "anonymous",
        "message": "Alias production removed from v1.0.0",
    } in trail


async def test_a_protected_version_cannot_be_deleted(api: Api) -> None:
    v0, v1 = await versions(api, 2)
    await api.query(PAUSE, {"id": v0})
    await api.query(SET, {"model": "ranker", "alias": "fallback", "id": v0})
    refused = (await api.query(DELETE, {"id": v0}))["deleteDeployment"]
    assert refused["deletedId"] is None and [e["code"] for e in refused["errors"]] == ["PROTECTED"]
    assert (await api.query(TRAIL, {"id": v0}))["deployment"]["status"] == "PAUSED"
    assert v1


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"alias": "Production"}, "INVALID_INPUT", ["input", "alias"]),
        ({"alias": ""}, "INVALID_INPUT", ["input", "alias"]),
        ({"alias": "a" * 41}, "INVALID_INPUT", ["input", "alias"]),
        ({"model": "nope"}, "NOT_FOUND", ["input", "modelName"]),
        ({"id": "other"}, "INVALID_INPUT", ["input", "deploymentId"]),
        ({"id": "bad"}, "INVALID_ID", ["input", "deploymentId"]),
    ],
)
async def test_a_bad_alias_is_refused_and_changes_nothing(
    api: Api, variables: dict[str, str], code: str, field: list[str]
) -> None:
    (v0,) = await versions(api, 1)
    (other,) = await versions(api, 1, model_name="elsewhere")
    wanted = {"model": "ranker", "alias": "production", "id": v0} | variables
    wanted["id"] = {"other": other, "bad": "bad"}.get(wanted["id"], wanted["id"])
    payload = (await api.query(SET, wanted))["setModelAlias"]
    assert payload["model"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert (await api.query(TRAIL, {"id": v0}))["deployment"]["aliases"] == []


async def test_removing_an_alias_that_is_not_there_is_not_found(api: Api) -> None:
    await versions(api, 1)
    payload = (await api.query(REMOVE, {"model": "ranker", "alias": "production"}))["removeModelAlias"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["input", "alias"])]


async def test_split_and_alias_changes_show_at_once_through_the_response_cache(tmp_path: Path) -> None:
    async with cached_api(tmp_path) as api:
        # given: a model page answered from the response cache
        v0, v1 = await versions(api, 2)
        page = '{ model(name: "ranker") { trafficSplit { percent } aliases { name } } }'
        before = await api.query(page)
        assert await api.query(page) == before and cache(api).hits >= 1
        # when / then: a split and an alias are writes like any other
        split = [{"deploymentId": v0, "percent": 50}, {"deploymentId": v1, "percent": 50}]
        assert (await api.query(SPLIT, {"model": "ranker", "shares": split}))["setTrafficSplit"][
            "errors"
        ] == []
        assert [s["percent"] for s in (await api.query(page))["model"]["trafficSplit"]] == [50.0, 50.0]
        assert (await api.query(SET, {"model": "ranker", "alias": "production", "id": v1}))["setModelAlias"][
            "errors"
        ] == []
        assert (await api.query(page))["model"]["aliases"] == [{"name": "production"}]


@pytest.mark.parametrize("name", ["a\x00b", "x" * 101, ""])
async def test_a_name_no_model_can_have_is_simply_not_found(api: Api, name: str) -> None:
    await versions(api, 1)
    assert (await api.query("query($n: String!) { model(name: $n) { name } }", {"n": name}))["model"] is None
    removed = (await api.query(REMOVE, {"model": name, "alias": "x\x00"}))["removeModelAlias"]
    assert [e["code"] for e in removed["errors"]] == ["NOT_FOUND"]
    removed = (await api.query(REMOVE, {"model": "ranker", "alias": "x\x00"}))["removeModelAlias"]
    assert [e["code"] for e in removed["errors"]] == ["NOT_FOUND"]
