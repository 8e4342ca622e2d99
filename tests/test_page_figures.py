"""A listing's nodes take their metrics from one pass over the page: the same figures as one at a time."""

from pathlib import Path

from tests.support import T0, Clock, running_api
from tests.test_api_metrics import METRICS, seed

PAGE = f"""query($orderBy: [DeploymentOrder!], $filter: DeploymentFilter, $asOf: DateTime, $now: DateTime) {{
  deployments(first: 50, orderBy: $orderBy, filter: $filter, asOf: $asOf) {{
    nodes {{ id metrics {{ {METRICS} }} own: metrics(asOf: $now) {{ {METRICS} }} }} }} }}"""
ONE = f"""query($id: ID!, $now: DateTime) {{ node(id: $id) {{ ... on Deployment {{
  metrics {{ {METRICS} }} own: metrics(asOf: $now) {{ {METRICS} }} }} }} }}"""


async def test_page_metrics_equal_each_deployments_own(tmp_path: Path) -> None:
    clock = Clock(T0)
    async with running_api(tmp_path, clock, rate_limit_capacity=0) as api:
        await seed(api)  # active deployments of every size, and one in each status that serves nothing
        now = clock.now.isoformat()
        cases = [
            {},
            {"filter": {"status": ["ACTIVE", "PAUSED"]}},
            {"orderBy": [{"field": "P95_LATENCY", "direction": "DESC"}]},  # fleet-wide figures, sorted
            {"asOf": (clock.now.replace(hour=3)).isoformat()},  # the page's instant is not the clock's
        ]
        for variables in cases:
            nodes = (await api.query(PAGE, {**variables, "now": now}))["deployments"]["nodes"]
            assert len(nodes) > 30
            assert len({str(n["metrics"]) for n in nodes}) > 1  # figures differ from row to row
            for node in nodes:
                one = (await api.query(ONE, {"id": node["id"], "now": now}))["node"]
                if "asOf" not in variables:  # the page's instant is the clock's: one's default is the same
                    assert node["metrics"] == one["metrics"], (variables, node["id"])
                # A node's own asOf goes through the loader; the page's pass agrees with it.
                assert node["own"] == one["own"] == one["metrics"], (variables, node["id"])
        # The page's instant (asOf given to the listing) is what its nodes' figures are for.
        asof = (await api.query(PAGE, {**cases[3], "now": now}))["deployments"]["nodes"]
        pinned = {**cases[3], "now": cases[3]["asOf"]}
        again = (await api.query(PAGE, pinned))["deployments"]["nodes"]
        assert [n["metrics"] for n in asof] == [n["own"] for n in again]
        assert all(n["metrics"]["asOf"].startswith(clock.now.date().isoformat() + "T03:") for n in asof)
