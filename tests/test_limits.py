"""Every limit in the README's limits table, at its edge: just under passes, just over is refused."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import T0, Api, make_job, running_api


def nested(levels: int) -> str:
    """A query whose selections nest 4 × levels - 1 deep."""
    inner = "id"
    for _ in range(levels):
        inner = f"trainingJob {{ deployments(first: 1) {{ nodes {{ {inner} }} }} }}"
    return "{ deployments(first: 1) { nodes { " + inner + " } } }"


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


def message(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["message"]) if body.get("errors") else ""


async def post(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await api.http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_depth_at_its_edge(tmp_path: Path) -> None:
    async with running_api(tmp_path, max_depth=11) as api:
        assert "errors" not in await post(api, nested(3))  # depth 11
    async with running_api(tmp_path, max_depth=10) as api:
        refused = await post(api, nested(3))
        assert "exceeds maximum operation depth of 10" in message(refused) and refused.get("data") is None


async def test_aliases_at_their_edge(api: Api) -> None:
    def aliases(n: int) -> str:
        return "{ " + " ".join(f"a{i}: serverTime" for i in range(n)) + " }"

    assert "errors" not in await post(api, aliases(30))
    assert "aliases" in message(await post(api, aliases(31))).lower()


async def test_tokens_at_their_edge(api: Api) -> None:
    def tokens(n: int) -> str:  # 16 tokens around the list of enum values
        return "{ deployments(filter: {status: [" + "ACTIVE " * (n - 16) + "]}) { totalCount } }"

    assert "errors" not in await post(api, tokens(5000))
    assert "token" in message(await post(api, tokens(5001))).lower()


async def test_batch_at_its_edge(api: Api) -> None:
    ok = await api.http.post("/graphql", json=[{"query": "{ serverTime }"}] * 10)
    assert ok.status_code == 200 and len(ok.json()) == 10
    over = await api.http.post("/graphql", json=[{"query": "{ serverTime }"}] * 11)
    assert over.status_code == 400 and "Too many operations" in over.text


async def test_body_size_at_its_edge(tmp_path: Path) -> None:
    async with running_api(tmp_path, max_body_bytes=1000) as api:

        def body(size: int) -> bytes:
            head = b'{"query": "{ serverTime }", "variables": {"x": "'
            return head + b"y" * (size - len(head) - 3) + b'"}}'

        assert len(body(1000)) == 1000
        ok = await api.http.post("/graphql", content=body(1000), headers={"Content-Type": "application/json"})
        assert ok.status_code == 200, ok.text
        over = await api.http.post(
            "/graphql", content=body(1001), headers={"Content-Type": "application/json"}
        )
        assert over.status_code == 413 and over.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


@pytest.mark.parametrize("argument", ["first", "last"])
async def test_page_size_at_its_edge(api: Api, argument: str) -> None:
    assert "errors" not in await post(api, f"{{ deployments({argument}: 100) {{ totalCount }} }}")
    assert code(await post(api, f"{{ deployments({argument}: 101) {{ totalCount }} }}")) == "PAGE_SIZE_LIMIT"


async def test_nodes_at_its_edge(api: Api) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = ["RGVwbG95bWVudDox"] * 100
    assert "errors" not in await post(api, query, {"ids": ids})
    assert code(await post(api, query, {"ids": [*ids, ids[0]]})) == "TOO_MANY_IDS"


async def test_order_keys_at_their_edge(api: Api) -> None:
    fields = ["CREATED_AT", "UPDATED_AT", "MODEL_NAME", "VERSION", "STATUS", "REQUEST_VOLUME"]
    query = "query($o: [DeploymentOrder!]) { deployments(orderBy: $o) { totalCount } }"
    assert "errors" not in await post(api, query, {"o": [{"field": f} for f in fields[:5]]})
    over = await post(api, query, {"o": [{"field": f} for f in fields]})
    assert code(over) == "INVALID_ORDER" and "at most 5" in message(over)


async def test_loss_points_at_their_edge(api: Api) -> None:
    query = "query($n: Int) { trainingJobs(first: 1) { nodes { lossHistory(points: $n) { loss } } } }"
    async with api.db.write() as s:
        make_job(s)
    assert "errors" not in await post(api, query, {"n": 500})
    assert code(await post(api, query, {"n": 501})) == "BAD_USER_INPUT"


async def test_as_of_reaches_back_366_days(api: Api) -> None:
    query = "query($t: DateTime) { deploymentStats(asOf: $t) { total } }"
    edge = T0 - timedelta(days=366)
    assert "errors" not in await post(api, query, {"t": edge.isoformat()})
    over = await post(api, query, {"t": (edge - timedelta(seconds=1)).isoformat()})
    assert code(over) == "AS_OF_OUT_OF_RANGE"


async def test_filter_text_at_its_edge(api: Api) -> None:
    query = "query($n: String) { deployments(filter: {modelName: $n}) { totalCount } }"
    assert "errors" not in await post(api, query, {"n": "x" * 100})
    over = await post(api, query, {"n": "x" * 101})
    assert code(over) == "BAD_USER_INPUT" and "at most 100" in message(over)
