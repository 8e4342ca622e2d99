"""Traffic follows the split (issue 15, item 2): a model's requests are the model's, and each ACTIVE
version serves its share of them, with its own latency; the model's figures add its versions' up."""

from datetime import datetime, timedelta

from tests.support import Api
from tests.test_api_split import SET
from tests.test_api_traffic import versions

FIGURES = """query($ids: [ID!]!, $at: DateTime) {
  model(name: "ranker") { metrics(asOf: $at) { requestCount errorCount requestVolume } }
  nodes(ids: $ids) { ... on Deployment { trafficPercent health healthReasons
    metrics(asOf: $at) { requestCount errorCount p50Latency } } } }"""


async def _figures(api: Api, deployments: list[str], end: datetime) -> list[dict]:  # type: ignore[type-arg]
    """The model's and each version's figures in each of the 30 windows before `end`."""
    out = []
    for back in range(30, 0, -1):
        at = (end - timedelta(minutes=back)).isoformat()
        out.append(await api.query(FIGURES, {"ids": deployments, "at": at}))
    return out


async def test_each_version_serves_its_share_of_the_models_requests(api: Api) -> None:
    # given: three versions; the newest had all the traffic for two days (the model's ramp-up is over)
    v0, v1, v2 = await versions(api, 3)
    api.clock.advance(days=2)
    split_at = api.clock.now
    whole = await _figures(api, [v0, v1, v2], split_at)
    # when: the split becomes 70 / 30 / 0, and half an hour passes
    shares = [{"deploymentId": v0, "percent": 70}, {"deploymentId": v1, "percent": 30}]
    assert (await api.query(SET, {"model": "ranker", "shares": shares}))["setTrafficSplit"]["errors"] == []
    api.clock.advance(minutes=31)
    split = await _figures(api, [v0, v1, v2], api.clock.now)
    # then: before, the newest version's count was the model's
    for minute in whole:
        counts = [n["metrics"]["requestCount"] for n in minute["nodes"]]
        assert counts[:2] == [0, 0] and counts[2] == minute["model"]["metrics"]["requestCount"] > 0
    # and after, each version's count is a binomial draw of its share of the model's (as a weighted
    # router splits requests: within 4 standard deviations), and they add up to the model's
    for minute in split:
        model = minute["model"]["metrics"]
        counts = [n["metrics"]["requestCount"] for n in minute["nodes"]]
        assert model["requestCount"] == sum(counts) and counts[2] == 0
        assert model["errorCount"] == sum(n["metrics"]["errorCount"] for n in minute["nodes"])
        spread = 4 * (0.21 * model["requestCount"]) ** 0.5 + 1
        assert abs(counts[0] - 0.7 * model["requestCount"]) <= spread
        assert abs(counts[1] - 0.3 * model["requestCount"]) <= spread
    # and the model's traffic did not change with the split: the same level, and the same past
    before = sum(m["model"]["metrics"]["requestCount"] for m in whole)
    after = sum(m["model"]["metrics"]["requestCount"] for m in split)
    assert 0.7 < after / before < 1.4

    def figures(minutes: list[dict]) -> list[object]:  # type: ignore[type-arg]
        return [(m["model"], [n["metrics"] for n in m["nodes"]]) for m in minutes]

    assert figures(await _figures(api, [v0, v1, v2], split_at)) == figures(whole)
    # and each slice keeps its own latency profile (different versions, different P50s)
    p50s = [[n["metrics"]["p50Latency"] for n in m["nodes"][:2]] for m in split]
    assert len({round(a / b, 1) for a, b in p50s}) > 1 or p50s[0][0] != p50s[0][1]
    # and a version serving 30 % by design is not "a traffic drop"
    last = split[-1]["nodes"]
    assert [n["trafficPercent"] for n in last] == [70.0, 30.0, 0.0]
    for node in last[:2]:
        assert not any(r.startswith("Traffic") for r in node["healthReasons"]), node
    assert last[2]["healthReasons"] == ["standby: 0 % of model traffic"]


async def _minute(api: Api, deployments: list[str], at: datetime) -> tuple[int, list[int]]:
    """The model's request count in the window holding `at`, and each version's."""
    figures = await api.query(FIGURES, {"ids": deployments, "at": at.isoformat()})
    return figures["model"]["metrics"]["requestCount"], [
        n["metrics"]["requestCount"] for n in figures["nodes"]
    ]


async def test_the_minute_of_a_share_change_or_an_activation_is_served_by_the_versions_before_it(
    api: Api,
) -> None:
    # given: two versions, the newer with all the traffic for two days, the clock 25 s into a minute
    old, new = await versions(api, 2)
    api.clock.advance(days=2)
    api.clock.now = api.clock.now.replace(second=25, microsecond=0)
    # when: the split gives all the traffic back to the older one, mid-minute
    shares = [{"deploymentId": old, "percent": 100}, {"deploymentId": new, "percent": 0}]
    assert (await api.query(SET, {"model": "ranker", "shares": shares}))["setTrafficSplit"]["errors"] == []
    changed = api.clock.now
    api.clock.advance(minutes=2)
    # then: that minute the newer version still serves all of the model's requests (a share, 0
    # included, changes at the next window start), and from the next minute the older one does
    total, counts = await _minute(api, [old, new], changed)
    assert total > 0 and counts == [0, total]
    total, counts = await _minute(api, [old, new], changed + timedelta(minutes=1))
    assert total > 0 and counts == [total, 0]
    # when: a third version is deployed and activated (all the traffic) mid-minute
    api.clock.now = api.clock.now.replace(second=40, microsecond=0)
    (third,) = await versions(api, 1)
    activated = api.clock.now
    api.clock.advance(minutes=2)
    # then: in the minute it activated the older version serves the model, from the next one the new one
    total, counts = await _minute(api, [old, new, third], activated)
    assert total > 0 and counts == [total, 0, 0]
    total, counts = await _minute(api, [old, new, third], activated + timedelta(minutes=1))
    assert total > 0 and counts == [0, 0, total]
