"""Models (issue 15, item 1): model(name), models (filter, order, Relay paging), a model's versions,
its traffic split now and at a past instant, and its figures: all its versions together."""

from datetime import timedelta
from typing import Any

import pytest

from resolvers import ids
from tests.support import T0, Api, make_deployment, make_job
from tests.test_api_traffic import versions

MODEL = """query($name: String!, $at: DateTime) { model(name: $name) {
  id name modelSize endpoint aliases { name } rollout { state }
  deployments(orderBy: [{field: VERSION}]) { totalCount nodes { version model { name } } }
  now: trafficSplit { percent deployment { version } }
  then: trafficSplit(asOf: $at) { percent deployment { version } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename ... on Model { name } } }"""
MODELS = """query($first: Int, $after: String, $last: Int, $before: String, $f: ModelFilter, $o: [ModelOrder!]) {
  models(first: $first, after: $after, last: $last, before: $before, filter: $f, orderBy: $o) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name modelSize metrics { requestVolume } } } } }"""


async def _models(api: Api) -> None:
    """Four models: two NANO, a SMALL one and a LARGE one, some with two versions (one deleted)."""
    async with api.db.write() as s:
        for name, size, count in (
            ("alpha", "NANO", 2),
            ("Beta", "SMALL", 1),
            ("gamma", "LARGE", 1),
            ("Ärger", "NANO", 2),
        ):
            job = make_job(s, model_name=name, model_size=size)
            for minor in range(count):
                await make_deployment(s, job, minor=minor, created_at=T0 - timedelta(days=2, hours=minor))
        gone = make_job(s, model_name="gone")
        await make_deployment(s, gone, status="PAUSED", deleted_at=T0 - timedelta(hours=1))


async def test_a_model_with_its_versions_split_endpoint_and_refetchable_id(api: Api) -> None:
    # given: two versions of one model, the newer holding the traffic
    (old,) = await versions(api, 1, model_name="Support Bot")
    between = api.clock.now
    api.clock.advance(seconds=1)
    (new,) = await versions(api, 1, model_name="Support Bot")
    api.clock.advance(minutes=5)
    # when
    model = (await api.query(MODEL, {"name": "Support Bot", "at": between.isoformat()}))["model"]
    # then
    assert (model["name"], model["modelSize"], model["endpoint"]) == (
        "Support Bot",
        "NANO",
        "/api/inference/support-bot",
    )
    assert model["aliases"] == [] and model["rollout"] is None
    assert model["deployments"]["totalCount"] == 2
    assert [n["version"] for n in model["deployments"]["nodes"]] == ["v1.0.0", "v1.1.0"]
    assert {n["model"]["name"] for n in model["deployments"]["nodes"]} == {"Support Bot"}
    assert [(s["deployment"]["version"], s["percent"]) for s in model["now"]] == [
        ("v1.1.0", 100.0),
        ("v1.0.0", 0.0),
    ]
    assert [(s["deployment"]["version"], s["percent"]) for s in model["then"]] == [("v1.0.0", 100.0)]
    # and its global ID refetches it; an unknown name is null
    assert (await api.query(NODE, {"id": model["id"]}))["node"] == {
        "__typename": "Model",
        "name": "Support Bot",
    }
    assert (await api.query(NODE, {"id": ids.encode("Model", ids.decode(new, "Deployment"))}))["node"] is None
    assert (await api.query(MODEL, {"name": "support bot"}))["model"] is None
    assert old != new


@pytest.mark.parametrize(
    ("flt", "names"),
    [
        (None, ["Beta", "alpha", "gamma", "Ärger"]),
        ({"name": "A"}, ["Beta", "alpha", "gamma"]),
        ({"name": "är"}, ["Ärger"]),
        ({"modelSize": ["NANO"]}, ["alpha", "Ärger"]),
        ({"name": "a", "modelSize": ["SMALL", "LARGE"]}, ["Beta", "gamma"]),
    ],
)
async def test_models_filter_by_name_and_size(api: Api, flt: dict[str, Any] | None, names: list[str]) -> None:
    await _models(api)
    found = (await api.query(MODELS, {"f": flt}))["models"]
    assert [e["node"]["name"] for e in found["edges"]] == names
    assert found["totalCount"] == len(names)


@pytest.mark.parametrize(
    "order",
    [
        [{"field": "NAME", "direction": "DESC"}],
        [{"field": "REQUEST_VOLUME"}],
        [{"field": "REQUEST_VOLUME", "direction": "DESC"}],
    ],
)
async def test_models_page_both_ways_in_every_order(api: Api, order: list[dict[str, str]]) -> None:
    # given
    await _models(api)
    everything = (await api.query(MODELS, {"o": order}))["models"]["edges"]
    names = [e["node"]["name"] for e in everything]
    # when: one at a time forwards, then backwards
    forwards, after = [], None
    while True:
        page = (await api.query(MODELS, {"o": order, "first": 1, "after": after}))["models"]
        forwards += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backwards, before = [], None
    while True:
        page = (await api.query(MODELS, {"o": order, "last": 1, "before": before}))["models"]
        backwards = [e["node"]["name"] for e in page["edges"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    # then
    assert forwards == backwards == names and len(names) == 4
    if order[0]["field"] == "REQUEST_VOLUME":
        volumes = [e["node"]["metrics"]["requestVolume"] for e in everything]
        assert volumes == sorted(volumes, reverse=order[0].get("direction") == "DESC")
    else:
        assert names == sorted(names, reverse=True)


async def test_a_cursor_of_another_order_or_filter_is_refused(api: Api) -> None:
    await _models(api)
    cursor = (await api.query(MODELS, {"first": 1}))["models"]["pageInfo"]["endCursor"]
    for variables in ({"o": [{"field": "REQUEST_VOLUME"}]}, {"f": {"name": "a"}}):
        error = await api.error(MODELS, {"first": 1, "after": cursor, **variables})
        assert error["extensions"]["code"] == "INVALID_CURSOR"


async def test_a_model_s_figures_are_its_versions_together(api: Api) -> None:
    # given: a model whose two versions both serve (stored before the split: each has traffic)
    await _models(api)
    api.clock.advance(hours=3)
    query = """{ model(name: "alpha") {
      metrics { requestCount errorCount requestVolume p50Latency p95Latency replicas }
      metricsHistory(range: LAST_HOUR) { points { requestVolume p50Latency } }
      deployments { nodes { metrics { requestCount errorCount requestVolume p50Latency p95Latency replicas }
                            metricsHistory(range: LAST_HOUR) { points { requestVolume } } } } } }"""
    # when
    model = (await api.query(query))["model"]
    # then: counts add; percentiles lie between the versions'
    each = [n["metrics"] for n in model["deployments"]["nodes"]]
    assert len(each) == 2 and all(m["requestCount"] > 0 for m in each)
    for figure in ("requestCount", "errorCount", "replicas"):
        assert model["metrics"][figure] == sum(m[figure] for m in each)
    assert model["metrics"]["requestVolume"] == pytest.approx(sum(m["requestVolume"] for m in each))
    for figure in ("p50Latency", "p95Latency"):
        assert (
            min(m[figure] for m in each) * 0.999
            <= model["metrics"][figure]
            <= max(m[figure] for m in each) * 1.001
        )
    points = model["metricsHistory"]["points"]
    assert len(points) == 60
    series = [n["metricsHistory"]["points"] for n in model["deployments"]["nodes"]]
    assert [p["requestVolume"] for p in points] == pytest.approx(
        [a["requestVolume"] + b["requestVolume"] for a, b in zip(*series, strict=True)]
    )
