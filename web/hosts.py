"""Only expected `Host` headers: a web page rebound to 127.0.0.1 must not reach a loopback server.

DNS rebinding lets any site a developer visits send requests to `localhost` servers under its
own name; the Host header still carries that name, so refusing unknown hosts stops it.
"""

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from domain import Code

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(header: str) -> str:
    """The host of a Host header, without port or IPv6 brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHostMiddleware:
    """400 with a GraphQL-shaped body for a Host outside `allowed`; None allows any."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = host_name(Headers(scope=scope).get("host", ""))
        if host in self.allowed:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": "This Host is not served here; add it with --allowed-host if it should be",
                        "extensions": {"code": Code.UNTRUSTED_HOST},
                    }
                ]
            }
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
