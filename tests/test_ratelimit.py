"""Per-client cost budgets: a leaky bucket per token (per address when anonymous), refilled per second.

The app's clock is the test's Clock: buckets refill when the test moves it, never by sleeping.
"""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

from schema import schema
from schema.cost import operation_cost
from server import create_app
from settings import Settings, parse_settings
from tests.databases import database_for
from tests.support import Clock
from web.ratelimit import AUTH_FAILURE_COST, Budget, RateLimiter

TABLE = "{ deployments(first: 100) { nodes { id modelName } } }"
COST = operation_cost(schema._schema, parse(TABLE), None, {})
CAPACITY = 3 * COST + COST // 2  # three tables fit, the fourth does not
REFILL = 100.0  # units per second
OPS = ("ops-team", "s3cr3t-ops-token-0123456789")
CI = ("ci-bot", "another-token-for-the-ci-bot")


@asynccontextmanager
async def app_with_budgets(tmp_path: Path, clock: Clock, **settings: Any) -> AsyncIterator[Any]:
    options: dict[str, Any] = dict(
        db=await database_for(tmp_path),
        demo=False,
        rate_limit_capacity=CAPACITY,
        rate_limit_refill=REFILL,
    )
    options.update(settings)
    app = create_app(Settings(**options), clock=clock)
    async with app.router.lifespan_context(app):
        yield app


def client(app: Any, address: str = "10.0.0.1", token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers)


async def ask(http: httpx.AsyncClient, query: str = TABLE) -> httpx.Response:
    return await http.post("/graphql", json={"query": query})


def rate(response: httpx.Response) -> dict[str, Any]:
    return response.json()["extensions"]["rateLimit"]  # type: ignore[no-any-return]


async def spend(http: httpx.AsyncClient, times: int = 3) -> None:
    for _ in range(times):
        response = await ask(http)
        assert response.status_code == 200 and "errors" not in response.json(), response.text


async def test_every_response_reports_its_cost_and_what_is_left(tmp_path: Path) -> None:
    clock = Clock()
    async with app_with_budgets(tmp_path, clock) as app, client(app) as http:
        first = await ask(http)
        assert rate(first)["cost"] == COST == first.json()["extensions"]["cost"]["requested"]
        assert rate(first)["remaining"] == CAPACITY - COST
        # full again once the spent units have flowed back in
        refill = timedelta(seconds=math.ceil(COST / REFILL))
        assert datetime.fromisoformat(rate(first)["resetAt"]) == clock.now + refill
        second = await ask(http)
        assert rate(second)["remaining"] == CAPACITY - 2 * COST
        # a request that never executes (a syntax error) costs nothing and still says what is left
        broken = await ask(http, "{ deployments(")
        assert rate(broken) == {**rate(second), "cost": 0}


async def test_a_spent_budget_is_429_with_retry_after_and_nothing_runs(tmp_path: Path) -> None:
    clock = Clock()
    async with app_with_budgets(tmp_path, clock) as app, client(app) as http:
        await spend(http)
        refused = await ask(http)
        assert refused.status_code == 429
        body = refused.json()
        assert body.get("data") is None  # nothing ran (a request error: no data entry at all)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["cost"] == COST
        left = CAPACITY - 3 * COST
        wait = math.ceil((COST - left) / REFILL)  # whole seconds until the missing units are back
        assert refused.headers["Retry-After"] == str(wait) == str(error["extensions"]["retryAfter"])
        assert rate(refused) == {**rate(refused), "cost": 0, "remaining": left}  # nothing was taken
        # a cheaper query still fits what is left
        cheap = await ask(http, "{ serverTime }")
        assert cheap.status_code == 200 and "errors" not in cheap.json()


async def test_the_budget_refills_with_time(tmp_path: Path) -> None:
    clock = Clock()
    async with app_with_budgets(tmp_path, clock) as app, client(app) as http:
        await spend(http)
        refused = await ask(http)
        assert refused.status_code == 429
        clock.advance(seconds=int(refused.headers["Retry-After"]) - 1)
        assert (await ask(http)).status_code == 429  # a second early: still not enough
        clock.advance(seconds=1)
        assert (await ask(http)).status_code == 200  # as promised by Retry-After
        clock.advance(hours=1)  # refills up to the capacity, never beyond
        assert rate(await ask(http))["remaining"] == CAPACITY - COST


async def test_tokens_have_buckets_of_their_own(tmp_path: Path) -> None:
    clock = Clock()
    async with (
        app_with_budgets(tmp_path, clock, tokens=(OPS, CI)) as app,
        client(app, token=OPS[1]) as ops,
        client(app, token=CI[1]) as ci,
        client(app) as anonymous,  # the same address as both
    ):
        await spend(ops)
        assert (await ask(ops)).status_code == 429
        assert (await ask(ci)).status_code == 200
        assert (await ask(anonymous)).status_code == 200
        assert rate(await ask(ci))["remaining"] == CAPACITY - 2 * COST


async def test_anonymous_clients_are_told_apart_by_address(tmp_path: Path) -> None:
    clock = Clock()
    async with (
        app_with_budgets(tmp_path, clock) as app,
        client(app, "10.0.0.1") as one,
        client(app, "10.0.0.2") as other,
    ):
        await spend(one)
        assert (await ask(one)).status_code == 429
        second = await ask(other)
        assert second.status_code == 200 and rate(second)["remaining"] == CAPACITY - COST


async def test_failed_authentications_are_charged_to_the_address(tmp_path: Path) -> None:
    clock = Clock()
    capacity = 3 * AUTH_FAILURE_COST + 10
    cheap = operation_cost(schema._schema, parse("{ serverTime }"), None, {})
    async with (
        app_with_budgets(tmp_path, clock, tokens=(OPS,), rate_limit_capacity=capacity) as app,
        client(app, "10.0.0.9", token="a-guessed-token-0000000000") as guesser,
        client(app, "10.0.0.9", token=OPS[1]) as owner,
    ):
        for _ in range(3):
            attempt = await ask(guesser, "{ serverTime }")
            assert attempt.status_code == 200  # reads are open; the wrong token still cost
        # each attempt: the failed authentication, then the query, both from the address's bucket
        assert rate(attempt)["remaining"] == capacity - 3 * (AUTH_FAILURE_COST + cheap) < AUTH_FAILURE_COST
        blocked = await ask(guesser, "{ serverTime }")
        assert blocked.status_code == 429 and blocked.headers["Retry-After"]
        assert blocked.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # the real token, from the same address, has its own bucket
        assert (await ask(owner, "{ serverTime }")).status_code == 200
        clock.advance(seconds=AUTH_FAILURE_COST / REFILL)
        assert (await ask(guesser, "{ serverTime }")).status_code == 200


async def test_an_empty_bucket_refuses_before_parsing(tmp_path: Path) -> None:
    clock = Clock()
    async with app_with_budgets(tmp_path, clock, rate_limit_capacity=COST) as app, client(app) as http:
        assert (await ask(http)).status_code == 200  # the whole bucket in one query
        refused = await http.post("/graphql", content=b"not even JSON")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert refused.json()["extensions"]["rateLimit"]["remaining"] == 0


async def test_budgets_can_be_turned_off(tmp_path: Path) -> None:
    clock = Clock()
    async with app_with_budgets(tmp_path, clock, rate_limit_capacity=0) as app, client(app) as http:
        for _ in range(10):
            response = await ask(http)
            assert response.status_code == 200 and "rateLimit" not in response.json()["extensions"]


def test_the_budget_is_a_setting_and_never_below_one_operation(capsys: pytest.CaptureFixture[str]) -> None:
    s = parse_settings(["--rate-limit-capacity", "500000", "--rate-limit-refill", "250"], env={})
    assert s.budget == Budget(capacity=500_000, refill_per_second=250)
    env = {"DEPLOYDECK_RATE_LIMIT_CAPACITY": "200000", "DEPLOYDECK_RATE_LIMIT_REFILL": "5"}
    assert parse_settings([], env=env).budget == Budget(capacity=200_000, refill_per_second=5)
    assert parse_settings([], env={}).budget == Budget()  # 1,000,000 and 10,000 per second
    with pytest.raises(SystemExit):
        parse_settings(["--rate-limit-capacity", "99999"], env={})  # below max_cost (100,000)
    assert "below --max-cost" in capsys.readouterr().err
    assert not parse_settings(["--rate-limit-capacity", "0"], env={}).budget.enabled


def test_the_defaults_let_a_polling_dashboard_through_and_stop_a_loop_of_max_cost_queries() -> None:
    now = Clock()
    limiter = RateLimiter(Budget(), now)
    # a dashboard: the 85,000-cost sparkline table every 10 s, for a day
    for _ in range(24 * 360):
        assert limiter.charge("dashboard", 85_000).allowed
        now.advance(seconds=10)
    # a loop of max-cost queries, one every 0.4 s (their run time): refused within seconds
    refused_after = None
    for n in range(100):
        if not limiter.charge("loop", 100_000).allowed:
            refused_after = n
            break
        now.advance(seconds=0.4)
    assert refused_after is not None and refused_after * 0.4 < 10
