"""GraphiQL in a real headless Chromium: it loads with no outside request, runs a query, shows the docs;
a link to it opens with the link's query; a run right after replacing the text sends the new operation.

Needs Debian's `chromium` package (`.ci/install-browser`); Playwright drives it, no browser download.
"""

import os
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, Request, async_playwright, expect

from tests.process import live_server

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


@asynccontextmanager
async def _chromium(chromium: Path, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile (so no tabs kept from an earlier run)."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


async def test_graphiql_works_offline_in_chromium(chromium: Path, server: str, tmp_path: Path) -> None:
    origin = urlsplit(server).netloc
    requests: list[str] = []
    problems: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    async with _chromium(chromium, tmp_path) as context:
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
        await expect(page.locator(".graphiql-explorer-root")).to_contain_text("trainingJobs", timeout=WAIT_MS)
        await page.screenshot(path=str(tmp_path / "graphiql-explorer.png"))

    assert requests, "the page made no request at all"
    outside = [url for url in requests if urlsplit(url).netloc != origin]
    assert not outside, f"requests to other hosts: {outside}"
    assert any(re.search(r"/static/graphiql/graphiql-3\.8\.3/graphiql\.min\.js$", url) for url in requests)
    assert not problems, problems


async def _open(context: BrowserContext, url: str, problems: list[str]) -> Page:
    """The page at `url`, GraphiQL and not raw JSON; console errors and page errors go to `problems`."""
    page = context.pages[0] if context.pages else await context.new_page()
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    response = await page.goto(url, wait_until="load", timeout=WAIT_MS)
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    return page


async def _result(page: Page) -> str:
    """The text of the result pane once a run has filled it."""
    result = page.locator(".graphiql-response")
    await expect(result).to_contain_text(re.compile(r'"(data|errors)"'), timeout=WAIT_MS)
    return await result.inner_text()


def _model_names(shown: str) -> list[str]:
    return re.findall(r'"modelName":\s*"([^"]+)"', shown)


RUN = "Execute query (Ctrl-Enter)"
LINKED = "query Linked($n: Int) {\n  deployments(first: $n) { totalCount nodes { modelName } }\n}"


async def test_a_link_opens_graphiql_with_its_query_and_variables(
    chromium: Path, server: str, tmp_path: Path
) -> None:
    total, models = _demo_deployments(server)
    problems: list[str] = []
    link = f"{server}/graphql?" + urlencode({"query": LINKED, "variables": '{"n": 2}'})
    async with _chromium(chromium, tmp_path) as context:
        page = await _open(context, link, problems)
        await expect(page.locator(".graphiql-query-editor")).to_contain_text("query Linked", timeout=WAIT_MS)
        await expect(page.locator(".graphiql-editor-tool")).to_contain_text('{"n": 2}', timeout=WAIT_MS)
        await page.get_by_role("button", name=RUN).click()
        shown = await _result(page)
    assert re.search(rf'"totalCount":\s*{total}\b', shown), shown
    names = _model_names(shown)
    assert len(names) == 2 and set(names) <= models, shown  # the link's variables were used
    assert not problems, problems


async def test_a_link_selects_its_operation_name(chromium: Path, server: str, tmp_path: Path) -> None:
    problems: list[str] = []
    two = f"query Clock {{ serverTime }}\n{LINKED}"
    link = f"{server}/graphql?" + urlencode(
        {"query": two, "variables": '{"n": 1}', "operationName": "Linked"}
    )
    async with _chromium(chromium, tmp_path) as context:
        page = await _open(context, link, problems)
        await expect(page.locator(".graphiql-query-editor")).to_contain_text("query Linked", timeout=WAIT_MS)
        # Ctrl-Enter in the variables editor runs the selected operation (in the query editor the
        # cursor's operation would win).
        await page.locator(".graphiql-editor-tool .CodeMirror").first.click()
        await page.keyboard.press("Control+Enter")
        shown = await _result(page)
    assert len(_model_names(shown)) == 1 and "serverTime" not in shown, shown
    assert not problems, problems


async def test_a_run_right_after_replacing_the_text_sends_the_new_operation(
    chromium: Path, server: str, tmp_path: Path
) -> None:
    problems: list[str] = []
    sent: list[str | None] = []

    def on_request(request: Request) -> None:
        body = request.post_data_json if request.method == "POST" else None
        if isinstance(body, dict) and body.get("operationName") != "IntrospectionQuery":
            sent.append(body.get("operationName"))

    async with _chromium(chromium, tmp_path) as context:
        context.on("request", on_request)
        page = await _open(context, f"{server}/graphql", problems)
        editor = page.locator(".graphiql-query-editor")
        await expect(editor).to_contain_text("query DeploymentsByP95", timeout=WAIT_MS)
        result = page.locator(".graphiql-response")

        # Paste a differently named operation over the example and press ▶ at once.
        await editor.locator(".CodeMirror").click()
        await page.keyboard.press("Control+A")
        await page.keyboard.insert_text("query Pasted { deployments(first: 3) { nodes { modelName } } }")
        await page.get_by_role("button", name=RUN).click()
        shown = await _result(page)
        assert len(_model_names(shown)) == 3 and '"errors"' not in shown, shown

        # Again, with Ctrl-Enter in the editor, and an anonymous operation.
        await editor.locator(".CodeMirror").click()
        await page.keyboard.press("Control+A")
        await page.keyboard.insert_text("{ deployments(first: 1) { totalCount } }")
        await page.keyboard.press("Control+Enter")
        await expect(result).to_contain_text('"totalCount"', timeout=WAIT_MS)
        assert '"errors"' not in await result.inner_text()

        # The URL follows the editor, and a reload opens GraphiQL with the edited query.
        await expect(page).to_have_url(re.compile(r"query=%7B\+deployments"), timeout=WAIT_MS)
        await page.reload(wait_until="load")
        await expect(editor).to_contain_text("{ deployments(first: 1) { totalCount } }", timeout=WAIT_MS)
    assert sent == ["Pasted", None], sent
    assert not problems, problems
