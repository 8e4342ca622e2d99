"""No deployments listing sorts the table: every statement a listing issues, EXPLAINed.

The speed of each filter × ordering is the benchmark's business (bench/bench_listing.py); what
a test can hold is the plan. PITFALLS: SQLite's planner picked the (status, rollout_due_at)
index for a status filter and sorted 85,000 rows in a temp B-tree per request. So this runs
the first page and a later page of every filter and pair × every ordering × both directions,
the nested per-job connections and a full snapshot load, records each SQL statement they send
(as count_selects does in test_api_queries.py), and EXPLAINs it on the same database.
"""

import base64
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from resolvers.snapshot import FleetCache
from tests.databases import ON_POSTGRES
from tests.support import T0, Api, make_deployment, make_job
from tests.test_listing_property import FIELDS

PAGE = """query($filter: DeploymentFilter, $orderBy: [DeploymentOrder!], $after: String, $last: Int) {
  deployments(first: null, last: $last, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { endCursor } nodes { id modelName metrics { p95Latency } health } } }"""
NESTED = """query($orderBy: [DeploymentOrder!]) { trainingJobs(first: 10) { nodes {
  deployments(first: 3, orderBy: $orderBy, filter: {status: [ACTIVE, PAUSED]}) { totalCount nodes { id } } } } }"""


def _job(n: int) -> str:
    return base64.b64encode(f"TrainingJob:{n}".encode()).decode()


def filters(job_id: int) -> list[dict[str, Any]]:
    single: list[dict[str, Any]] = [
        {},
        {"status": ["ACTIVE"]},
        {"status": ["PAUSED", "FAILED"]},
        {"modelName": "mod"},
        {"modelSize": ["LARGE"]},
        {"health": ["WARNING", "CRITICAL", "HEALTHY"]},
        {"trainingJobId": _job(job_id)},
        {"createdAfter": (T0 - timedelta(days=2)).isoformat()},
        {"createdBefore": (T0 - timedelta(days=1)).isoformat()},
    ]
    pairs = [{**a, **b} for i, a in enumerate(single[1:], 1) for b in single[i + 1 :] if a.keys() != b.keys()]
    return single + pairs[::5]  # every single filter, and a spread of pairs


async def seed(api: Api) -> int:
    async with api.db.write() as s:
        jobs = [
            make_job(s, model_name=f"model-{j}", model_size=("NANO", "SMALL", "LARGE")[j % 3])
            for j in range(6)
        ]
        for i in range(60):
            await make_deployment(
                s,
                jobs[i % 6],
                minor=i,
                status=("ACTIVE", "ACTIVE", "PAUSED", "FAILED", "DEPLOYING")[i % 5],
                created_at=T0 - timedelta(hours=i),
            )
        return jobs[2].id


def recording(api: Api) -> tuple[list[tuple[str, Any]], Any]:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    engine = api.db.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


def _sorts_deployments(node: dict[str, Any]) -> bool:
    """A PostgreSQL plan node that sorts rows coming from the deployments table."""

    def reads_deployments(n: dict[str, Any]) -> bool:
        return n.get("Relation Name") == "deployments" or any(
            reads_deployments(c) for c in n.get("Plans", [])
        )

    if "Sort" in node["Node Type"] and reads_deployments(node):
        return True
    return any(_sorts_deployments(child) for child in node.get("Plans", []))


async def plan(api: Api, statement: str, parameters: Any) -> tuple[str, bool]:
    """(the plan as text, whether it sorts deployments) of one recorded statement."""
    async with api.db.read() as session:
        conn = await session.connection()
        if ON_POSTGRES:
            result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            raw = result.scalar_one()
            tree = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            return json.dumps(tree), _sorts_deployments(tree)
        rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
        text = "\n".join(str(row[-1]) for row in rows)
        return text, "TEMP B-TREE" in text


async def test_no_listing_query_sorts_the_deployments_table(api: Api) -> None:
    # given: a fleet in every status, size and job, and every listing a table can ask for
    job_id = await seed(api)
    statements, stop = recording(api)
    try:
        await FleetCache().current(api.db)  # a process's first, full snapshot load
        for k, flt in enumerate(filters(job_id)):
            for field in FIELDS:
                for direction in ("ASC", "DESC"):
                    variables = {"filter": flt, "orderBy": [{"field": field, "direction": direction}]}
                    first = (await api.query(PAGE, variables))["deployments"]
                    if k < 3:  # later pages (a cursor) and the last page, for a few filters
                        if first["pageInfo"]["endCursor"]:
                            await api.query(PAGE, {**variables, "after": first["pageInfo"]["endCursor"]})
                        await api.query(PAGE, {**variables, "last": 5})
        for field in FIELDS:
            second = "STATUS" if field != "STATUS" else "VERSION"
            nested = {"orderBy": [{"field": field, "direction": "DESC"}, {"field": second}]}
            await api.query(NESTED, nested)
    finally:
        stop()
    # when: each distinct statement that reads deployments is explained
    reads = {s: p for s, p in statements if s.lstrip().upper().startswith("SELECT") and "deployments" in s}
    plans = {s: await plan(api, s, p) for s, p in reads.items()}
    # then: none sorts the table, and the pages were fetched by primary key
    sorting = {s: text for s, (text, sorts) in plans.items() if sorts}
    assert not sorting, sorting
    by_id = [text for s, (text, _) in plans.items() if "deployments.id IN" in s]
    assert by_id, "the listing fetched no page by id"
    if not ON_POSTGRES:  # PostgreSQL may rightly scan a table this small instead
        assert all("USING INTEGER PRIMARY KEY" in text for text in by_id), by_id
