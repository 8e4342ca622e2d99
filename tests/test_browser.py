"""GraphiQL in a real headless Chromium: it loads with no outside request, runs a query, shows the docs.

Needs Debian's `chromium` package (`.ci/install-browser`); Playwright drives it, no browser download.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Request, async_playwright, expect

from tests.live import live_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # an upper bound for each explicit wait; a pass takes a few seconds in all

pytestmark = pytest.mark.e2e


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (.ci/install-browser)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """server.py with the demo data, on a free port; its base URL."""
    with live_server(tmp_path, "--demo", "--rollout-seconds", "0") as base:
        yield base


def _demo_deployments(base: str) -> tuple[int, set[str]]:
    """How many deployments the demo has, and their model names."""
    body = httpx.post(
        f"{base}/graphql",
        json={"query": "{ deployments(first: 100) { totalCount nodes { modelName } } }"},
        timeout=10,
    ).json()
    deployments = body["data"]["deployments"]
    return deployments["totalCount"], {node["modelName"] for node in deployments["nodes"]}


async def test_graphiql_works_offline_in_chromium(chromium: Path, server: str, tmp_path: Path) -> None:
    origin = urlsplit(server).netloc
    requests: list[str] = []
    problems: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            context.on("request", on_request)
            context.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

            response = await page.goto(f"{server}/graphql", wait_until="load", timeout=WAIT_MS)
            assert response is not None and response.status == 200

            # GraphiQL rendered, with the example query in the first tab.
            editor = page.locator(".graphiql-query-editor")
            await expect(editor).to_contain_text("query DeploymentsByP95", timeout=WAIT_MS)

            # Run it: the result pane shows the demo deployments.
            await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
            result = page.locator(".graphiql-response")
            await expect(result).to_contain_text('"modelName"', timeout=WAIT_MS)
            shown = await result.inner_text()
            total, models = _demo_deployments(server)
            assert re.search(rf'"totalCount":\s*{total}\b', shown), shown
            first_model = re.search(r'"modelName":\s*"([^"]+)"', shown)
            assert first_model and first_model.group(1) in models, shown
            assert '"errors"' not in shown

            # The docs explorer describes the schema.
            await page.get_by_role("button", name="Show Documentation Explorer").click()
            docs = page.locator(".graphiql-doc-explorer")
            await expect(docs).to_contain_text("Query", timeout=WAIT_MS)
            await docs.get_by_role("link", name="Query", exact=True).first.click()
            await expect(docs).to_contain_text("deploymentStats", timeout=WAIT_MS)
            await page.screenshot(path=str(tmp_path / "graphiql-docs.png"))

            # The explorer plugin lists the query fields.
            await page.get_by_role("button", name="Show GraphiQL Explorer").click()
            await expect(page.locator(".graphiql-explorer-root")).to_contain_text(
                "trainingJobs", timeout=WAIT_MS
            )
            await page.screenshot(path=str(tmp_path / "graphiql-explorer.png"))
        finally:
            await context.close()

    assert requests, "the page made no request at all"
    outside = [url for url in requests if urlsplit(url).netloc != origin]
    assert not outside, f"requests to other hosts: {outside}"
    assert any(re.search(r"/static/graphiql/graphiql-3\.8\.3/graphiql\.min\.js$", url) for url in requests)
    assert not problems, problems
