"""GraphiQL, served entirely from this server: no CDN, font or analytics request.

The page loads React, GraphiQL and its explorer plugin from files vendored in `web/static/graphiql`
(see the README there), served under versioned URLs with a year of immutable caching. Only the
files listed here are served: an allow-list, so no directory listing and no path traversal.
"""

import base64
import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from web.graphiql_page import SCRIPT, STYLE

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
URL_PREFIX = "/static/graphiql"
IMMUTABLE = "public, max-age=31536000, immutable"

#: Headers for the page itself (not versioned, so not cached without revalidation).
PAGE_HEADERS = {"Cache-Control": "no-cache"}

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    "": "text/plain; charset=utf-8",  # the LICENSE files
}


@dataclass(frozen=True)
class Asset:
    """A vendored file: its path under STATIC_DIR (the directory names the version) and SRI hash."""

    path: str
    integrity: str | None = None

    @property
    def url(self) -> str:
        return f"{URL_PREFIX}/{self.path}"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[Path(self.path).suffix]


# The files and hashes strawberry's own page loads from unpkg (strawberry/static/graphiql.html).
REACT = Asset(
    "react-18.2.0/react.production.min.js",
    "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
)
REACT_DOM = Asset(
    "react-dom-18.2.0/react-dom.production.min.js",
    "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
)
GRAPHIQL_JS = Asset(
    "graphiql-3.8.3/graphiql.min.js",
    "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
)
GRAPHIQL_CSS = Asset(
    "graphiql-3.8.3/graphiql.min.css",
    "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
)
EXPLORER_JS = Asset(
    "graphiql-plugin-explorer-1.0.2/index.umd.js",
    "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
)
EXPLORER_CSS = Asset(
    "graphiql-plugin-explorer-1.0.2/style.css",
    "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
)
STYLESHEETS = (GRAPHIQL_CSS, EXPLORER_CSS)
SCRIPTS = (REACT, REACT_DOM, GRAPHIQL_JS, EXPLORER_JS)  # in load order: each needs the ones before
LICENSES = tuple(
    Asset(path)
    for path in (
        "react-18.2.0/LICENSE",
        "react-dom-18.2.0/LICENSE",
        "graphiql-3.8.3/LICENSE",
        "graphiql-plugin-explorer-1.0.2/LICENSE",
        "graphiql-plugin-explorer-1.0.2/LICENSE-graphiql-explorer",
    )
)
ASSETS: dict[str, Asset] = {asset.path: asset for asset in (*STYLESHEETS, *SCRIPTS, *LICENSES)}


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The browser itself refuses any request to another origin. Inline styles stay allowed: React and
# CodeMirror set style attributes. The embedded fonts are data: URLs in graphiql.min.css.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' {_csp_hash(SCRIPT)}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)


def _build_page() -> str:
    links = "\n".join(
        f'    <link rel="stylesheet" href="{a.url}" integrity="{a.integrity}" />' for a in STYLESHEETS
    )
    scripts = "\n".join(f'    <script src="{a.url}" integrity="{a.integrity}"></script>' for a in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Deploydeck GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>{STYLE}</style>
{links}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
{scripts}
    <script>{SCRIPT}</script>
  </body>
</html>
"""


_PAGE = _build_page()


def page() -> str:
    """The HTML for GET /graphql from a browser; it loads only files this server serves."""
    return _PAGE


def routes() -> list[BaseRoute]:
    """The vendored assets, under their versioned URLs."""
    return [Route(URL_PREFIX + "/{path:path}", _serve_asset, methods=["GET"])]


@functools.cache
def _load(path: str) -> tuple[bytes, bytes | None, str]:
    """A file's bytes, its gzip encoding when worth it, and a tag of its content; read once."""
    body = (STATIC_DIR / path).read_bytes()
    compressed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > 1024 else None
    return body, compressed, hashlib.blake2b(body, digest_size=16).hexdigest()


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip()
            try:
                return not q or float(q) > 0
            except ValueError:
                return False
    return False


async def _serve_asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["path"])
    if asset is None:
        return PlainTextResponse("Not Found", status_code=404)
    body, compressed, tag = await anyio.to_thread.run_sync(_load, asset.path)
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": f'"{tag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if compressed is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = compressed
        headers["Content-Encoding"] = "gzip"
        headers["ETag"] = f'"{tag}-gzip"'
    return Response(body, media_type=asset.content_type, headers=headers)
