"""Metrics, history, health and fleet stats through the API, with a controllable clock."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import resolvers.metrics
import schema.yielding
from tests.support import T0, Api, Clock, make_deployment, make_job, rollout_succeeds, running_api
from tests.test_api_mutations import PAUSE, RESUME, gid
from tests.test_api_queries import page_through

METRICS = (
    "asOf windowSeconds nextUpdateAt requestVolume requestCount errorCount p50Latency p95Latency p99Latency"
    " errorRate successRate timeToFirstTokenP50 timeToFirstTokenP95 outputTokensPerSecond replicas utilization"
)
POINT = (
    "timestamp requestVolume p50Latency p95Latency p99Latency errorRate timeToFirstTokenP50"
    " outputTokensPerSecond replicas utilization"
)
DETAIL = f"""query($id: ID!, $asOf: DateTime, $range: MetricsRange) {{ deployment(id: $id) {{
  status health(asOf: $asOf) healthReasons(asOf: $asOf) metrics(asOf: $asOf) {{ {METRICS} }}
  metricsHistory(range: $range, asOf: $asOf) {{ range stepSeconds points {{ {POINT} }} }}
}} }}"""
TABLE = f"""query($first: Int, $after: String, $last: Int, $before: String, $orderBy: [DeploymentOrder!],
  $filter: DeploymentFilter, $asOf: DateTime) {{
  deployments(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter, asOf: $asOf) {{
    totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ databaseId }} }}
    nodes {{ databaseId status health healthReasons metrics {{ {METRICS} }} }}
  }}
}}"""
STATS = """query($asOf: DateTime) { deploymentStats(asOf: $asOf) { asOf nextUpdateAt total byStatus { status count }
  byHealth { health count } totalRequestVolume p95Latency errorRate } }"""


async def seed(api: Api, active: int = 30) -> dict[str, list[int]]:
    """Active deployments of every size activated days ago, plus one in each not-serving status."""
    ids: dict[str, list[int]] = {"ACTIVE": [], "PAUSED": [], "DEPLOYING": [], "FAILED": []}
    async with api.db.write() as s:
        jobs = [
            make_job(s, model_name=f"m-{size.lower()}", model_size=size)
            for size in ("NANO", "SMALL", "LARGE")
        ]
        for i in range(active):
            dep = await make_deployment(s, jobs[i % 3], minor=i, created_at=T0 - timedelta(days=3, hours=i))
            ids["ACTIVE"].append(dep.id)
        for j, status in enumerate(("PAUSED", "DEPLOYING", "FAILED")):
            dep = await make_deployment(
                s,
                jobs[0],
                minor=100 + j,
                status=status,
                created_at=T0 - timedelta(days=2),
                rollout_due_at=T0 + timedelta(hours=1) if status == "DEPLOYING" else None,
            )
            ids[status].append(dep.id)
    return ids


async def test_polling_within_a_window_is_stable_and_the_next_window_moves_on(api: Api) -> None:
    ids = await seed(api, active=3)
    dep = gid("Deployment", ids["ACTIVE"][0])
    api.clock.now = T0 + timedelta(seconds=5)
    first = (await api.query(DETAIL, {"id": dep}))["deployment"]["metrics"]
    api.clock.now = T0 + timedelta(seconds=59)
    again = (await api.query(DETAIL, {"id": dep}))["deployment"]["metrics"]
    api.clock.now = T0 + timedelta(seconds=60)
    later = (await api.query(DETAIL, {"id": dep}))["deployment"]["metrics"]
    assert first == again
    assert (
        first["asOf"] == T0.isoformat() and first["nextUpdateAt"] == (T0 + timedelta(minutes=1)).isoformat()
    )
    assert first["windowSeconds"] == 60
    assert later["asOf"] == first["nextUpdateAt"] and later != first
    # the next window moves on plausibly: same order of magnitude
    assert 0.5 < later["requestVolume"] / first["requestVolume"] < 2
    assert 0.5 < later["p50Latency"] / first["p50Latency"] < 2
    for m in (first, later):
        assert m["p50Latency"] <= m["p95Latency"] <= m["p99Latency"]
        assert m["timeToFirstTokenP50"] <= m["timeToFirstTokenP95"] <= m["p95Latency"]
        assert m["timeToFirstTokenP50"] < m["p50Latency"]
        assert m["outputTokensPerSecond"] > 0 and m["replicas"] >= 1 and 0 < m["utilization"] <= 100
        assert m["errorCount"] <= m["requestCount"]
        assert m["requestVolume"] == pytest.approx(m["requestCount"] / 60)
        assert m["successRate"] == pytest.approx(100 - m["errorRate"])


@pytest.mark.parametrize("status", ["PAUSED", "DEPLOYING", "FAILED"])
async def test_not_serving_means_no_traffic(api: Api, status: str) -> None:
    ids = await seed(api, active=1)
    detail = (await api.query(DETAIL, {"id": gid("Deployment", ids[status][0])}))["deployment"]
    m = detail["metrics"]
    assert (m["requestVolume"], m["requestCount"], m["errorCount"]) == (0, 0, 0)
    assert (m["outputTokensPerSecond"], m["replicas"]) == (0, 0)
    nulls = ("p50Latency", "p95Latency", "p99Latency", "errorRate", "successRate")
    nulls += ("timeToFirstTokenP50", "timeToFirstTokenP95", "utilization")
    assert [m[k] for k in nulls] == [None] * len(nulls)
    assert detail["health"] == "NO_TRAFFIC"
    assert detail["healthReasons"] == ["Not serving traffic"]


@pytest.mark.parametrize(
    ("span", "step", "points"),
    [
        ("LAST_HOUR", 60, 60),
        ("LAST_24_HOURS", 900, 96),
        ("LAST_7_DAYS", 3600, 168),
        ("LAST_30_DAYS", 21600, 120),
    ],
)
async def test_history_ranges(api: Api, span: str, step: int, points: int) -> None:
    ids = await seed(api, active=1)
    series = (await api.query(DETAIL, {"id": gid("Deployment", ids["ACTIVE"][0]), "range": span}))[
        "deployment"
    ]["metricsHistory"]
    assert (series["range"], series["stepSeconds"], len(series["points"])) == (span, step, points)
    stamps = [p["timestamp"] for p in series["points"]]
    assert stamps == sorted(stamps)
    served = [p for p in series["points"] if p["requestVolume"] > 0]
    assert len(served) >= min(points, 72 * 3600 // step - 1)  # activated three days before
    for p in served:
        assert p["p50Latency"] <= p["p95Latency"] <= p["p99Latency"]
        assert p["timeToFirstTokenP50"] <= p["p50Latency"]
        assert p["replicas"] >= 1 and 0 < p["utilization"] <= 100
    assert series["points"][-1]["timestamp"] <= T0.isoformat()


async def test_default_history_is_24_hours_and_last_hour_ends_with_metrics(api: Api) -> None:
    ids = await seed(api, active=1)
    dep = gid("Deployment", ids["ACTIVE"][0])
    as_of = (T0 - timedelta(hours=5, seconds=17)).isoformat()
    default = (await api.query(DETAIL, {"id": dep}))["deployment"]["metricsHistory"]
    assert default["range"] == "LAST_24_HOURS"
    detail = (await api.query(DETAIL, {"id": dep, "range": "LAST_HOUR", "asOf": as_of}))["deployment"]
    last, metrics = detail["metricsHistory"]["points"][-1], detail["metrics"]
    assert last == {
        "timestamp": metrics["asOf"],
        "requestVolume": metrics["requestVolume"],
        "p50Latency": metrics["p50Latency"],
        "p95Latency": metrics["p95Latency"],
        "p99Latency": metrics["p99Latency"],
        "errorRate": metrics["errorRate"],
        "timeToFirstTokenP50": metrics["timeToFirstTokenP50"],
        "outputTokensPerSecond": metrics["outputTokensPerSecond"],
        "replicas": metrics["replicas"],
        "utilization": metrics["utilization"],
    }


SPARKLINES = f"""query($first: Int, $range: MetricsRange, $asOf: DateTime) {{ deployments(first: $first) {{
  nodes {{ id metricsHistory(range: $range, asOf: $asOf) {{ range stepSeconds points {{ {POINT} }} }} }} }} }}"""
# A step's percentiles come from a mixture solved for all charts of a pass together: its rounds run
# until every chart's have settled, so a chart in a table may differ from its own in the last digits.
SOLVED = ("p50Latency", "p95Latency", "p99Latency", "timeToFirstTokenP50")


@pytest.mark.parametrize(
    "span, rows",  # every window of a step, and 15 sampled of 60 (fewer rows: the cost limit)
    [("LAST_HOUR", 50), ("LAST_24_HOURS", 50), ("LAST_7_DAYS", 12)],
)
async def test_a_tables_sparklines_are_each_deployments_own_chart_in_one_pass(
    api: Api, span: str, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: 30 serving deployments and one in each other status; the simulator's chart calls counted,
    # and the operation in one round (a heavy one works in rounds, which split DataLoader batches:
    # tests/test_yielding.py's part)
    ids = await seed(api)
    monkeypatch.setattr(schema.yielding, "SLICE_SECONDS", 60.0)
    passes: list[Any] = []
    real = resolvers.metrics.compute_series
    monkeypatch.setattr(resolvers.metrics, "compute_series", lambda *a: passes.append(a[1]) or real(*a))
    as_of = (T0 - timedelta(hours=2, minutes=7)).isoformat()
    # when: the table asks for a sparkline on every row
    nodes = (await api.query(SPARKLINES, {"first": rows, "range": span, "asOf": as_of}))["deployments"][
        "nodes"
    ]
    # then: one simulator pass for every row's chart at once ...
    assert len(nodes) == min(rows, sum(map(len, ids.values())))
    assert [len(positions) for positions in passes] == [len(nodes)]
    # ... and each row's chart is the one its detail page shows
    for node in nodes:
        alone = (await api.query(DETAIL, {"id": node["id"], "range": span, "asOf": as_of}))["deployment"]
        chart, own = node["metricsHistory"], alone["metricsHistory"]
        assert chart["range"] == own["range"] == span and chart["stepSeconds"] == own["stepSeconds"]
        assert len(chart["points"]) == len(own["points"])
        for point, expected in zip(chart["points"], own["points"], strict=True):
            assert {k: v for k, v in point.items() if k not in SOLVED} == {
                k: v for k, v in expected.items() if k not in SOLVED
            }
            for k in SOLVED:
                assert point[k] == (None if expected[k] is None else pytest.approx(expected[k], rel=1e-8))
    assert any(p["requestVolume"] > 0 for n in nodes for p in n["metricsHistory"]["points"])


async def test_history_shows_no_traffic_before_activation_and_while_paused(api: Api) -> None:
    # given: a deployment made through the API, activated at T0, paused 20 min later for 15 min
    async with api.db.write() as s:
        job = make_job(s)
    dep = (
        await api.query(
            "mutation($j: ID!) { deployJob(input: {jobId: $j}) { deployment { id } } }",
            {"j": gid("TrainingJob", job.id)},
        )
    )["deployJob"]["deployment"]["id"]
    assert rollout_succeeds(dep), "the simulator fails this id's rollout (simulator.rollout_fails)"
    api.clock.advance(minutes=20)
    assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
    api.clock.advance(minutes=15)
    assert (await api.query(RESUME, {"id": dep}))["resumeDeployment"]["errors"] == []
    api.clock.advance(minutes=25)
    # when
    points = (await api.query(DETAIL, {"id": dep, "range": "LAST_HOUR"}))["deployment"]["metricsHistory"][
        "points"
    ]
    # then: point i is the window starting i+1 minutes after T0: serving until the pause at
    # T0+20, no traffic through T0+34, serving again (ramping up, so small but positive) after
    volumes = [p["requestVolume"] for p in points]
    assert len(volumes) == 60
    assert all(v > 0 for v in volumes[:19]), volumes
    assert volumes[19:34] == [0] * 15
    assert all(p["p50Latency"] is None for p in points[19:34])
    assert all(
        (p["replicas"], p["utilization"], p["outputTokensPerSecond"]) == (0, None, 0) for p in points[19:34]
    )
    assert all(v > 0 for v in volumes[34:]), str(volumes[30:])
    # and before activation there was nothing
    earlier = await api.query(
        DETAIL, {"id": dep, "range": "LAST_HOUR", "asOf": (T0 - timedelta(minutes=1)).isoformat()}
    )
    assert {p["requestVolume"] for p in earlier["deployment"]["metricsHistory"]["points"]} == {0}


def metric_of(node: dict[str, Any], field: str) -> float | None:
    key = {
        "REQUEST_VOLUME": "requestVolume",
        "P50_LATENCY": "p50Latency",
        "P95_LATENCY": "p95Latency",
        "P99_LATENCY": "p99Latency",
        "ERROR_RATE": "errorRate",
    }[field]
    return node["metrics"][key]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "field", ["REQUEST_VOLUME", "P50_LATENCY", "P95_LATENCY", "P99_LATENCY", "ERROR_RATE"]
)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_order_by_metric_shows_the_figures_it_sorted_by_nulls_last(
    api: Api, field: str, direction: str
) -> None:
    await seed(api)
    order = [{"field": field, "direction": direction}]
    conn = (await api.query(TABLE, {"first": 100, "orderBy": order}))["deployments"]
    nodes = conn["nodes"]
    assert conn["totalCount"] == len(nodes) == 33
    present = [n for n in nodes if metric_of(n, field) is not None]
    missing = [n for n in nodes if metric_of(n, field) is None]
    assert nodes == present + missing
    # the not-serving ones have no figure, except a volume of 0
    assert len(missing) == (0 if field == "REQUEST_VOLUME" else 3)
    expected = sorted(
        present, key=lambda n: (metric_of(n, field), n["databaseId"]), reverse=direction == "DESC"
    )
    assert [n["databaseId"] for n in present] == [n["databaseId"] for n in expected]
    assert [n["databaseId"] for n in missing] == sorted(
        (n["databaseId"] for n in missing), reverse=direction == "DESC"
    )


@pytest.mark.parametrize(
    "field", ["REQUEST_VOLUME", "P50_LATENCY", "P95_LATENCY", "P99_LATENCY", "ERROR_RATE"]
)
async def test_paging_a_metric_order_across_a_window_boundary_sees_every_item_once(
    api: Api, field: str
) -> None:
    # given
    await seed(api)
    order = [{"field": field, "direction": "DESC"}]
    api.clock.now = T0 + timedelta(seconds=50)
    snapshot = (await api.query(TABLE, {"first": 100, "orderBy": order}))["deployments"]["nodes"]
    # when: paging 7 at a time while the clock crosses into later windows
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        conn = (await api.query(TABLE, {"first": 7, "after": after, "orderBy": order}))["deployments"]
        seen += conn["nodes"]
        api.clock.advance(seconds=40)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    # then: the same snapshot, every item exactly once, with the figures of the first page's asOf
    assert [n["databaseId"] for n in seen] == [n["databaseId"] for n in snapshot]
    assert seen == snapshot
    assert {n["metrics"]["asOf"] for n in seen} == {T0.isoformat()}
    # and backwards too
    backwards = await page_through(api, TABLE, "deployments", {"orderBy": order}, 6, backwards=True)
    current = (await api.query(TABLE, {"first": 100, "orderBy": order}))["deployments"]["nodes"]
    assert backwards == [n["databaseId"] for n in current]


async def test_metric_order_mixes_with_stored_keys_and_filters(api: Api) -> None:
    await seed(api)
    order = [{"field": "STATUS"}, {"field": "REQUEST_VOLUME", "direction": "DESC"}]
    flt = {"modelSize": ["NANO", "SMALL"], "status": ["ACTIVE", "PAUSED"]}
    conn = (await api.query(TABLE, {"first": 100, "orderBy": order, "filter": flt}))["deployments"]
    nodes = conn["nodes"]
    assert conn["totalCount"] == len(nodes) == 21  # 20 NANO/SMALL active + 1 paused
    ranks = ["DEPLOYING", "ACTIVE", "PAUSED", "FAILED"]
    keys = [(ranks.index(n["status"]), -(n["metrics"]["requestVolume"])) for n in nodes]
    assert keys == sorted(keys)
    assert await page_through(api, TABLE, "deployments", {"orderBy": order, "filter": flt}, 5, False) == [
        n["databaseId"] for n in nodes
    ]


@pytest.mark.parametrize("health", [["HEALTHY"], ["WARNING", "CRITICAL"], ["NO_TRAFFIC"]])
async def test_filter_by_health_agrees_with_the_health_field(api: Api, health: list[str]) -> None:
    await seed(api)
    everything = (await api.query(TABLE, {"first": 100}))["deployments"]["nodes"]
    conn = (await api.query(TABLE, {"first": 100, "filter": {"health": health}}))["deployments"]
    expected = [n["databaseId"] for n in everything if n["health"] in health]
    assert [n["databaseId"] for n in conn["nodes"]] == expected  # default order kept: newest first
    assert conn["totalCount"] == len(expected)
    assert all(n["health"] in health for n in conn["nodes"])
    assert all((n["healthReasons"] == []) == (n["health"] == "HEALTHY") for n in everything)


async def test_stats_agree_with_the_table(api: Api) -> None:
    await seed(api)
    as_of = (T0 - timedelta(hours=7)).isoformat()
    nodes = (await api.query(TABLE, {"first": 100, "asOf": as_of}))["deployments"]["nodes"]
    stats = (await api.query(STATS, {"asOf": as_of}))["deploymentStats"]
    assert stats["asOf"] == as_of
    assert stats["total"] == len(nodes)
    assert {s["status"]: s["count"] for s in stats["byStatus"]} == {
        status: sum(n["status"] == status for n in nodes)
        for status in ("DEPLOYING", "ACTIVE", "PAUSED", "FAILED")
    }
    assert {h["health"]: h["count"] for h in stats["byHealth"]} == {
        h: sum(n["health"] == h for n in nodes) for h in ("HEALTHY", "WARNING", "CRITICAL", "NO_TRAFFIC")
    }
    assert stats["totalRequestVolume"] == pytest.approx(sum(n["metrics"]["requestVolume"] for n in nodes))
    serving = [n["metrics"] for n in nodes if n["metrics"]["requestCount"]]
    requests = sum(m["requestCount"] for m in serving)
    assert stats["p95Latency"] == pytest.approx(
        sum(m["p95Latency"] * m["requestCount"] for m in serving) / requests
    )
    assert stats["errorRate"] == pytest.approx(100 * sum(m["errorCount"] for m in serving) / requests)


async def test_stats_of_an_idle_fleet(api: Api) -> None:
    stats = (await api.query(STATS))["deploymentStats"]
    assert (stats["total"], stats["totalRequestVolume"], stats["p95Latency"], stats["errorRate"]) == (
        0,
        0,
        None,
        None,
    )
    assert {s["count"] for s in stats["byStatus"]} == {0}


@pytest.mark.parametrize(
    "query",
    [
        TABLE.replace("$first: Int,", "$first: Int = 5,"),
        STATS,
        DETAIL.replace("$id: ID!,", '$id: ID! = "RGVwbG95bWVudDox",'),
    ],
)
async def test_as_of_in_the_future_is_a_clear_error(api: Api, query: str) -> None:
    await seed(api, active=1)
    error = await api.error(query, {"asOf": (T0 + timedelta(minutes=5)).isoformat()})
    assert error["extensions"]["code"] == "FUTURE_AS_OF"
    assert "in the future" in error["message"]


async def test_a_write_through_another_app_is_seen_on_the_next_request(tmp_path: Path) -> None:
    clock = Clock()
    async with running_api(tmp_path, clock) as a, running_api(tmp_path, clock) as b:
        ids = await seed(a, active=3)
        dep = gid("Deployment", ids["ACTIVE"][0])
        table = {"first": 100, "orderBy": [{"field": "REQUEST_VOLUME", "direction": "DESC"}]}
        before = (await a.query(TABLE, table))["deployments"]["nodes"]
        assert next(n for n in before if n["databaseId"] == ids["ACTIVE"][0])["health"] != "NO_TRAFFIC"
        # when: b pauses it, and a new deployment arrives through b
        assert (await b.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
        async with b.db.write() as s:
            await make_deployment(s, make_job(s, model_name="fresh"))
        clock.advance(minutes=1)
        # then: a's cache follows
        after = (await a.query(TABLE, table))["deployments"]["nodes"]
        paused = next(n for n in after if n["databaseId"] == ids["ACTIVE"][0])
        assert paused["status"] == "PAUSED" and paused["health"] == "NO_TRAFFIC"
        assert paused["metrics"]["requestVolume"] == 0
        assert len(after) == len(before) + 1
        # and both apps give identical figures for the same asOf
        same = {
            "first": 100,
            "orderBy": [{"field": "P95_LATENCY"}],
            "asOf": (T0 - timedelta(hours=2)).isoformat(),
        }
        assert (await a.query(TABLE, same)) == (await b.query(TABLE, same))


async def test_a_pause_shows_no_traffic_at_once_and_stats_agree_with_statuses(api: Api) -> None:
    # given: a fleet mid-minute
    ids = await seed(api, active=4)
    api.clock.now = T0 + timedelta(seconds=30)
    dep = gid("Deployment", ids["ACTIVE"][0])
    # when
    assert (await api.query(PAUSE, {"id": dep}))["pauseDeployment"]["errors"] == []
    detail = (await api.query(DETAIL, {"id": dep}))["deployment"]
    stats = (await api.query(STATS))["deploymentStats"]
    # then: in the same minute, PAUSED has no traffic, and the cards' counts agree
    assert (detail["status"], detail["health"], detail["metrics"]["requestVolume"]) == (
        "PAUSED",
        "NO_TRAFFIC",
        0,
    )
    not_active = sum(s["count"] for s in stats["byStatus"] if s["status"] != "ACTIVE")
    no_traffic = next(h["count"] for h in stats["byHealth"] if h["health"] == "NO_TRAFFIC")
    assert no_traffic == not_active == 4
    assert (
        stats["asOf"] == T0.isoformat() and stats["nextUpdateAt"] == (T0 + timedelta(minutes=1)).isoformat()
    )
