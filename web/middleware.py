"""ASGI middleware: request ids and access log, ETags, body-size limit, masking of unhandled errors."""

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain import Code
from web.http_shapes import etag_of
from web.logs import ACCESS_FIELDS
from web.metrics import Metrics

access_log = logging.getLogger("deploydeck.access")
error_log = logging.getLogger("deploydeck.errors")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Every response carries X-Request-ID; one log line per request names it.

    A client-supplied id that looks safe is kept, so a browser or client bug report can
    name the request; anything else is replaced. The GraphQL endpoint records the
    operation name in the scope's state for the log line.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get("x-request-id", "")
        request_id = offered if _CLIENT_ID.match(offered) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            operation = state.get("operation")
            cache_hit = state.get("cache_hit")  # set by the response cache when it is on
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "operation": operation,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "cache_hit": cache_hit if isinstance(cache_hit, bool) else None,
            }
            access_log.info(
                "request_id=%s method=%s path=%s operation=%s status=%d duration_ms=%.1f",
                request_id,
                scope["method"],
                scope["path"],
                operation or "-",
                status,
                seconds * 1000,
                extra={ACCESS_FIELDS: fields},  # the JSON log format's fields (web/logs.py)
            )
            if self.metrics is not None:
                self.metrics.request_done(scope["path"], operation, status, seconds)


class ETagMiddleware:
    """GET responses get a content hash as ETag; a matching If-None-Match gets 304 and no body.

    The tag is a hash of the body, so a response is never served stale: after a mutation
    the body, and with it the tag, changes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._finish(scope, send, start, bytes(body))
                return
            await send(message)

        await self.app(scope, receive, buffer)

    async def _finish(self, scope: Scope, send: Send, start: Message | None, body: bytes) -> None:
        assert start is not None
        headers = MutableHeaders(scope=start)
        if start["status"] == 200 and "etag" not in headers:
            headers["ETag"] = etag_of(body)
        etag = headers.get("etag")
        wanted = Headers(scope=scope).get("if-none-match", "")
        if etag and start["status"] == 200 and _none_match(wanted, etag):
            kept = {
                k: v for k, v in headers.items() if k in ("etag", "cache-control", "x-request-id", "vary")
            }
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [(k.encode(), v.encode()) for k, v in kept.items()],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        headers["Content-Length"] = str(len(body))
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _none_match(wanted: str, etag: str) -> bool:
    """Whether If-None-Match names the current tag: by weak comparison (RFC 9110, 13.1.2: `W/"x"`
    matches `"x"`), and `*` matches any current representation."""
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _json_error(status: int, message: str, code: Code, **extra: str) -> tuple[Message, Message]:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, **extra}}]})
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class UnexpectedErrorMiddleware:
    """An unhandled exception becomes a generic JSON 500 with the request id; the log has the traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            request_id = scope.get("state", {}).get("request_id", "unknown")
            error_log.exception("request_id=%s unhandled exception", request_id)
            if started:
                raise
            for message in _json_error(
                500,
                f"Internal server error; quote request id {request_id} when reporting it",
                Code.INTERNAL_SERVER_ERROR,
                requestId=request_id,
            ):
                await send(message)


class BodySizeLimitMiddleware:
    """Request bodies above the limit get 413 before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Read the body here (bounded), then hand it on: chunked bodies have no length to check.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        for message in _json_error(
            413,
            f"Request body exceeds the limit of {self.max_bytes} bytes (max_body_bytes)",
            Code.BODY_TOO_LARGE,
        ):
            await send(message)
