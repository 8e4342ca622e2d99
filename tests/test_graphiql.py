"""GraphiQL at GET /graphql: a page that loads only files this server serves, with long caching."""

import base64
import gzip
import hashlib
import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.support import Api
from web import graphiql, graphiql_page

HTML = {"Accept": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"


class _Page(HTMLParser):
    """The URLs a page loads (script src, link href) with their attributes, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[dict[str, str | None]] = []
        self.inline_scripts: list[str] = []
        self.meta: list[dict[str, str | None]] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and "src" in attributes:
            self.loads.append({"url": attributes["src"], **attributes})
        elif tag == "script":
            self._in_inline_script = True
            self.inline_scripts.append("")
        elif tag == "link":
            self.loads.append({"url": attributes.get("href"), **attributes})
        elif tag == "meta":
            self.meta.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


async def _page(api: Api) -> tuple[str, _Page]:
    response = await api.http.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parsed = _Page()
    parsed.feed(response.text)
    parsed.close()
    return response.text, parsed


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


async def test_the_page_loads_only_local_files_served_with_long_caching(api: Api) -> None:
    _, page = await _page(api)
    local = [load for load in page.loads if load["url"] != "data:,"]  # the empty favicon: no request
    assert {load["url"] for load in local} == {
        asset.url for asset in (*graphiql.SCRIPTS, *graphiql.STYLESHEETS)
    }
    for load in local:
        url = load["url"]
        assert url is not None and url.startswith("/static/graphiql/") and not url.startswith("//"), url
        response = await api.http.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE, url
        expected = "text/javascript" if url.endswith(".js") else "text/css"
        assert response.headers["content-type"] == f"{expected}; charset=utf-8", url
        assert response.headers["x-content-type-options"] == "nosniff"
        # The files are the published ones: they match the hashes strawberry's CDN page pins.
        assert load["integrity"] == _sri(response.content), url


async def test_no_request_to_another_host_from_the_page_or_its_styles(api: Api) -> None:
    html, page = await _page(api)
    assert not re.search(r"https?://", html, re.IGNORECASE)
    assert "//" not in "".join(str(load["url"]) for load in page.loads)
    for sheet in graphiql.STYLESHEETS:
        css = (await api.http.get(sheet.url)).text
        assert "@import" not in css
        # Fonts and images are embedded: every url(...) is a data: URL.
        for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            assert url.startswith("data:"), url[:80]


async def test_the_browser_enforces_it_with_a_content_security_policy(api: Api) -> None:
    _, page = await _page(api)
    (policy,) = [
        m["content"] for m in page.meta if (m.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert policy is not None
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    # The one inline script is allowed by its hash, and nothing else is.
    (script,) = page.inline_scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'self' 'sha256-{digest}'"


async def test_the_first_tab_holds_an_example_query_that_runs(api: Api) -> None:
    html, _ = await _page(api)
    assert "query DeploymentsByP95" in html
    assert "orderBy: {field: P95_LATENCY, direction: DESC}" in html
    # It stays valid as the schema changes.
    data = await api.query(graphiql_page.EXAMPLE_QUERY)
    assert data["deployments"]["totalCount"] == 0
    assert data["deployments"]["nodes"] == []


async def test_large_assets_are_gzipped_when_the_client_accepts_it(api: Api) -> None:
    raw = (graphiql.STATIC_DIR / graphiql.GRAPHIQL_JS.path).read_bytes()
    identity = await api.http.get(graphiql.GRAPHIQL_JS.url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers
    assert identity.content == raw
    request = api.http.build_request("GET", graphiql.GRAPHIQL_JS.url, headers={"Accept-Encoding": "gzip"})
    zipped = await api.http.send(request, stream=True)
    try:
        compressed = b"".join([chunk async for chunk in zipped.aiter_raw()])
    finally:
        await zipped.aclose()
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in [v.strip() for v in zipped.headers["vary"].split(",")]
    assert zipped.headers["cache-control"] == IMMUTABLE
    assert zipped.headers["etag"] != identity.headers["etag"]
    assert len(compressed) < len(raw) // 3
    assert gzip.decompress(compressed) == raw


async def test_license_texts_are_kept_and_served(api: Api) -> None:
    for asset in graphiql.LICENSES:
        assert (graphiql.STATIC_DIR / asset.path).is_file()
        response = await api.http.get(asset.url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert "MIT License" in response.text
        assert "Permission is hereby granted, free of charge" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/static/graphiql/graphiql-3.8.3/nope.js",
        "/static/graphiql/graphiql-3.8.3/graphiql.min.js.map",
        "/static/graphiql/graphiql-9.9.9/graphiql.min.js",
        "/static/graphiql/README.md",  # in the directory, but not something the page serves
        # no directory listing
        "/static/graphiql/",
        "/static/graphiql/graphiql-3.8.3/",
        "/static/graphiql/graphiql-3.8.3",
        # no path traversal (encoded, so that the client does not resolve the dots itself)
        "/static/graphiql/%2E%2E/%2E%2E/graphiql.py",
        "/static/graphiql/graphiql-3.8.3/%2E%2E/%2E%2E/%2E%2E/graphiql.py",
        "/static/graphiql/graphiql-3.8.3/..%2F..%2F..%2Fgraphiql.py",
        "/static/graphiql/%2Fetc%2Fpasswd",
        "/static/graphiql//etc/passwd",
    ],
)
async def test_anything_else_is_not_found(api: Api, path: str) -> None:
    response = await api.http.get(path)
    assert response.status_code == 404
    assert "cache-control" not in response.headers


# What Chromium sends when it opens a link: HTML first, anything else at q=0.8.
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
}
TABLE = "query Table { deployments(first: 5) { totalCount } }"


def _vary(response: httpx.Response) -> list[str]:
    return [v.strip().lower() for v in response.headers.get("vary", "").split(",")]


@pytest.mark.parametrize(
    "accept",
    [
        BROWSER["Accept"],
        "text/html",
        "text/*",
        "application/json;q=0.5, text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # Firefox
    ],
)
async def test_a_link_with_a_query_opens_the_page_in_a_browser(api: Api, accept: str) -> None:
    plain = await api.http.get("/graphql", headers=HTML)
    params = {"query": TABLE, "variables": '{"n": 1}', "operationName": "Table"}
    response = await api.http.get("/graphql", params=params, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # The page reads the query from its URL: the body is the same page, nothing of the URL is in it.
    assert response.text == plain.text
    assert "accept" in _vary(response) and "accept" in _vary(plain)


async def test_a_hostile_query_in_a_link_is_not_reflected_into_the_page(api: Api) -> None:
    hostile = '{ serverTime } # </script><script>alert("x")</script>'
    response = await api.http.get("/graphql", params={"query": hostile}, headers=BROWSER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "alert" not in response.text and response.text.count("</script>") == len(graphiql.SCRIPTS) + 1
    # and the one inline script still matches the CSP hash (the page test above checks the hash).
    assert response.text == graphiql.page()


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/graphql-response+json",
        "*/*",
        None,  # no Accept header at all
        "text/html;q=0.9, application/json",
        "text/html, application/json",  # a tie: the client can take JSON, so it gets the result
        "text/html;q=0, */*",
    ],
)
async def test_clients_asking_for_json_still_get_results(api: Api, accept: str | None) -> None:
    request = api.http.build_request("GET", "/graphql", params={"query": TABLE})
    if accept is None:
        del request.headers["accept"]
    else:
        request.headers["accept"] = accept
    response = await api.http.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/")
    assert response.json()["data"] == {"deployments": {"totalCount": 0}}
    assert "accept" in _vary(response)


async def test_the_page_and_the_result_each_revalidate_with_their_own_etag(api: Api) -> None:
    params = {"query": TABLE}
    page = await api.http.get("/graphql", params=params, headers=BROWSER)
    result = await api.http.get("/graphql", params=params, headers={"Accept": "application/json"})
    assert page.headers["etag"] != result.headers["etag"]
    for first, accept in ((page, BROWSER["Accept"]), (result, "application/json")):
        again = await api.http.get(
            "/graphql", params=params, headers={"Accept": accept, "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        assert "accept" in _vary(again)


async def test_post_responses_vary_by_accept_too(api: Api) -> None:
    response = await api.http.post("/graphql", json={"query": TABLE})
    assert response.status_code == 200 and "accept" in _vary(response)
