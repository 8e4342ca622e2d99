"""Random fleets × random filters × random orderings, paged both ways: the listing engine agrees
with a plain Python filter and sort over the rows read directly from the database.

Non-ASCII names (case folding beyond ASCII), ties on every key (the id breaks them), nulls (metric
orders over deployments that serve no traffic), first/after, last/before and both cursors at
once; the top-level connection (the snapshot's cached permutations) and each training job's
nested connection (a per-job slice sorted per request) are both checked, and every totalCount
must equal the number of rows the pages hold.
"""

import base64
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from db.deployments import bump_revision
from db.models import DEPLOYMENT_STATUSES, Deployment, TrainingJob
from resolvers import listing_keys
from tests.support import T0, Api, make_deployment, make_job, running_api

NAMES = ("ÉCOLE-bot", "école", "Straße", "STRASSE-x", "ΣΊΣΥΦΟΣ", "模型", "a", "B")
SIZES = ("NANO", "SMALL", "LARGE")
NEEDLES = ("é", "ÉCOLE", "strasse", "σίσυφος", "模", "a", "b", "zz", "-")
TIMES = tuple(T0 - timedelta(hours=h) for h in (2, 5, 5.5, 30, 70))  # few values: ties
FIELDS = tuple(listing_keys.FIELDS)  # every orderable field
METRIC = {"REQUEST_VOLUME": "requestVolume", "P50_LATENCY": "p50Latency", "P95_LATENCY": "p95Latency"}
METRIC |= {"P99_LATENCY": "p99Latency", "ERROR_RATE": "errorRate"}
HEALTH = ("HEALTHY", "WARNING", "CRITICAL", "NO_TRAFFIC")

PAGE = """query($first: Int, $after: String, $last: Int, $before: String, $filter: DeploymentFilter,
      $orderBy: [DeploymentOrder!]) {
  deployments(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { databaseId } }
  } }"""
NESTED = """query($filter: DeploymentFilter, $orderBy: [DeploymentOrder!]) {
  trainingJobs(first: 50) { nodes { databaseId
    deployments(first: 100, filter: $filter, orderBy: $orderBy) { totalCount nodes { databaseId } } } } }"""
FIGURES = f"""query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Deployment {{ databaseId health
    metrics {{ {" ".join(METRIC.values())} }} }} }} }}"""

deployment = st.fixed_dictionaries(
    {
        "job": st.integers(0, len(NAMES) - 1),
        # Half serving (metric orders need traffic), half not (their nulls); generation leans
        # towards the first choice.
        "status": st.sampled_from(("ACTIVE", "PAUSED", "ACTIVE", "FAILED", "ACTIVE", "DEPLOYING")),
        "created": st.sampled_from(TIMES),
        "updated": st.sampled_from(TIMES),
        "major": st.integers(1, 2),
        "patch": st.integers(0, 1),
    }
)
CONDITIONS = {
    "status": st.lists(st.sampled_from(DEPLOYMENT_STATUSES), min_size=1, max_size=3, unique=True),
    "modelName": st.sampled_from(NEEDLES),
    "modelSize": st.lists(st.sampled_from(SIZES), min_size=1, max_size=2, unique=True),
    "trainingJobId": st.integers(0, len(NAMES) - 1),
    "createdAfter": st.sampled_from(TIMES),
    "createdBefore": st.sampled_from(TIMES),
    "health": st.lists(st.sampled_from(HEALTH), min_size=1, max_size=3, unique=True),
}
# None, one or two conditions, as tables combine them; more would leave too few rows to order.
condition = st.lists(st.sampled_from(sorted(CONDITIONS)), max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({name: CONDITIONS[name] for name in names})
)
ordering = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.booleans()), min_size=1, max_size=3, unique_by=lambda k: k[0]
)


def gid(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


class Fleet:
    """One test's training jobs (one per name); each example replaces all of their deployments."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.jobs: list[int] = []
        self.next_minor: dict[int, int] = defaultdict(int)  # versions are never reused, even deleted

    async def replace(self, rows: list[dict[str, Any]]) -> None:
        async with self.api.db.write() as s:
            if not self.jobs:
                jobs = [make_job(s, model_name=n, model_size=SIZES[i % 3]) for i, n in enumerate(NAMES)]
                await s.flush()
                self.jobs = [job.id for job in jobs]
            revision = await bump_revision(s)  # like any writer: caches in every process reload
            await s.execute(
                update(Deployment)
                .where(Deployment.deleted_at.is_(None))
                .values(deleted_at=T0, revision=revision)
            )
            for row in rows:
                job = await s.get(TrainingJob, self.jobs[row["job"]])
                minor = self.next_minor[row["job"]]
                self.next_minor[row["job"]] += 1
                await make_deployment(
                    s,
                    job,
                    minor=minor,
                    version_major=row["major"],
                    version_patch=row["patch"],
                    status=row["status"],
                    created_at=row["created"],
                    updated_at=row["updated"],
                )

    async def reference(self) -> list[dict[str, Any]]:
        """Every live deployment, read directly, with the figures the API shows for it."""
        async with self.api.db.read() as s:
            rows = (await s.scalars(select(Deployment).where(Deployment.deleted_at.is_(None)))).all()
        if not rows:
            return []
        figures = (await self.api.query(FIGURES, {"ids": [gid("Deployment", r.id) for r in rows]}))["nodes"]
        by_id = {f["databaseId"]: f for f in figures}
        return [
            {
                "id": r.id,
                "job": r.training_job_id,
                "CREATED_AT": r.created_at,
                "UPDATED_AT": r.updated_at,
                "MODEL_NAME": r.model_name,
                "VERSION": (r.version_major, r.version_minor, r.version_patch),
                "STATUS": DEPLOYMENT_STATUSES.index(r.status),
                "status": r.status,
                "size": r.model_size,
                "health": by_id[r.id]["health"],
                **{field: by_id[r.id]["metrics"][name] for field, name in METRIC.items()},
            }
            for r in rows
        ]


def expected(rows: list[dict[str, Any]], flt: dict[str, Any], order: list[tuple[str, bool]]) -> list[int]:
    """The plain definition: every condition holds; keys compared in turn, nulls last, then the id."""

    def keep(r: dict[str, Any]) -> bool:
        return (
            ("status" not in flt or r["status"] in flt["status"])
            and ("modelName" not in flt or flt["modelName"].casefold() in r["MODEL_NAME"].casefold())
            and ("modelSize" not in flt or r["size"] in flt["modelSize"])
            and ("trainingJobId" not in flt or r["job"] == flt["trainingJobId"])
            and ("createdAfter" not in flt or r["CREATED_AT"] >= flt["createdAfter"])
            and ("createdBefore" not in flt or r["CREATED_AT"] < flt["createdBefore"])
            and ("health" not in flt or r["health"] in flt["health"])
        )

    chosen = sorted((r for r in rows if keep(r)), key=lambda r: r["id"], reverse=order[-1][1])
    for field, desc in reversed(order):  # stable sorts, least significant key first
        present = [r for r in chosen if r[field] is not None]
        present.sort(key=lambda r: r[field], reverse=desc)  # reverse keeps ties in their order
        chosen = present + [r for r in chosen if r[field] is None]
    return [r["id"] for r in chosen]


async def page_all(
    api: Api, variables: dict[str, Any], size: int, backwards: bool
) -> tuple[list[Any], set[int]]:
    """Every edge (id, cursor) over pages of `size`, and every totalCount the pages reported."""
    edges: list[Any] = []
    counts: set[int] = set()
    cursor = None
    for _ in range(100):  # fleets hold at most 14 rows: more pages means the cursors go round
        args = {"last": size, "before": cursor} if backwards else {"first": size, "after": cursor}
        conn = (await api.query(PAGE, {**variables, **args}))["deployments"]
        got = [(e["node"]["databaseId"], e["cursor"]) for e in conn["edges"]]
        edges = got + edges if backwards else edges + got
        counts.add(conn["totalCount"])
        info = conn["pageInfo"]
        if not (info["hasPreviousPage"] if backwards else info["hasNextPage"]):
            return edges, counts
        assert got, "a page that promises more must not be empty"
        cursor = info["startCursor"] if backwards else info["endCursor"]
    raise AssertionError("paging never ended")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """Without per-client budgets: hundreds of pages at one frozen instant would empty a bucket
    that never refills (budgets have tests of their own)."""
    async with running_api(tmp_path, rate_limit_capacity=0) as client:
        yield client


@pytest.fixture
async def fleet(api: Api) -> AsyncIterator[Fleet]:
    """Shared by every example of a test: the jobs stay, each example replaces the deployments."""
    yield Fleet(api)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(deployment, min_size=3, max_size=14),
    flt=condition,
    order=ordering,
    size=st.integers(1, 4),
    backwards=st.booleans(),
    cut=st.tuples(st.integers(0, 13), st.integers(0, 13)),
)
async def test_every_path_pages_the_same_rows_in_the_same_order(
    api: Api,
    fleet: Fleet,
    rows: list[dict[str, Any]],
    flt: dict[str, Any],
    order: list[tuple[str, bool]],
    size: int,
    backwards: bool,
    cut: tuple[int, int],
) -> None:
    # given: a fresh random fleet
    await fleet.replace(rows)
    reference = await fleet.reference()
    job_ids = fleet.jobs
    wire = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in flt.items()}
    plain = dict(flt)
    if "trainingJobId" in flt:
        plain["trainingJobId"] = job_ids[flt["trainingJobId"]]
        wire["trainingJobId"] = gid("TrainingJob", plain["trainingJobId"])
    order_by = [{"field": f, "direction": "DESC" if d else "ASC"} for f, d in order]
    variables = {"filter": wire, "orderBy": order_by}
    want = expected(reference, plain, order)
    # when: paging the top-level connection one way
    edges, counts = await page_all(api, variables, size, backwards)
    # then: the same rows in the same order, counted as paged
    assert [i for i, _ in edges] == want
    assert counts == {len(want)}
    # and between two cursors (after and before at once) lies exactly the slice between them
    if len(edges) >= 2:
        lo, hi = sorted(c % len(edges) for c in cut)
        between = {"first": 100, "after": edges[lo][1], "before": edges[hi][1]}
        conn = (await api.query(PAGE, {**variables, **between}))["deployments"]
        assert [e["node"]["databaseId"] for e in conn["edges"]] == want[lo + 1 : hi]
    # and each job's nested connection holds that job's share, in the same order
    jobs = (await api.query(NESTED, variables))["trainingJobs"]["nodes"]
    assert {j["databaseId"] for j in jobs} == set(job_ids)
    for job in jobs:
        mine = expected(reference, {**plain, "trainingJobId": job["databaseId"]}, order)
        if "trainingJobId" in plain and plain["trainingJobId"] != job["databaseId"]:
            mine = []  # the filter names another job
        conn = job["deployments"]
        assert [n["databaseId"] for n in conn["nodes"]] == mine
        assert conn["totalCount"] == len(mine)


async def test_a_training_job_id_at_the_integer_limit_matches_nothing(fleet: Fleet) -> None:
    await fleet.replace(
        [{"job": 0, "status": "ACTIVE", "created": T0, "updated": T0, "major": 1, "patch": 0}]
    )
    variables = {"filter": {"trainingJobId": gid("TrainingJob", 2**31 - 1)}, "first": 5}
    conn = (await fleet.api.query(PAGE, variables))["deployments"]
    assert conn["edges"] == [] and conn["totalCount"] == 0
