"""GraphQL over HTTP's shapes: which media type a client gets, and how a body is turned into a response.

Pure functions of headers and results, for the endpoint in web/graphql_app.py.
"""

import hashlib
import re
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult

from domain import Code
from web.ratelimit import Charge

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Errors of operations that started executing: not "request errors" (no 400, `data` stays null).
_EXECUTION_CODES = (Code.TIMEOUT, Code.RESPONSE_TOO_LARGE)
BODY_SHAPE = (
    "The request body must be a JSON object with `query` (a string), and optionally `variables` and "
    "`extensions` (objects) and `operationName` (a string), or a list of such objects"
)


class MutationOverGet(HTTPException):
    """A mutation sent with GET: the method is wrong, not the request (spec: 405, `Allow: POST`)."""

    def __init__(self) -> None:
        super().__init__(405, "mutations are not allowed when using GET; use POST")


OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def unknown_operation(name: str | None) -> ExecutionResult:
    """The request error for an operationName the document does not define, or a document of no operation."""
    message = "The document defines no operation" if name is None else f'Unknown operation named "{name}".'
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": Code.OPERATION_RESOLUTION_FAILURE})]
    )


def checked_body(parsed: Any) -> Any:
    """A parsed request (one operation or a batch) whose every entry has the types the spec names."""
    for item in parsed if isinstance(parsed, list) else [parsed]:
        if not (
            isinstance(item.query, str | None)
            and isinstance(item.variables, dict | None)
            and isinstance(item.operation_name, str | None)
            and isinstance(item.extensions, dict | None)
        ):
            raise HTTPException(400, BODY_SHAPE)
    if isinstance(parsed, list) and not parsed:
        raise HTTPException(400, "An empty batch holds no operation")
    return parsed


def logged_operation(query: str | None, name: str | None) -> str:
    """The operation's name for the log, only as the document spells it: an operationName the document
    does not define is the client's free text (perhaps a pasted token), never logged."""
    defined = OPERATION.findall(query or "")
    if name is None:
        return defined[0] if defined else "anonymous"  # type: ignore[no-any-return]
    return name if name in defined else "unknown"


def etag_of(body: bytes) -> str:
    """A strong validator of a response body: its content hash."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _accept_weights(accept: str) -> dict[str, float]:
    """Each media range of an Accept header with its q-value."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    return weights


def response_media_type(accept: str) -> str:
    """graphql-response+json when the client accepts it at least as much as JSON, else JSON."""
    weights = _accept_weights(accept)
    modern = weights.get(GRAPHQL_RESPONSE, 0.0)
    legacy = max(weights.get(JSON, 0.0), weights.get("*/*", 0.0), weights.get("application/*", 0.0))
    return GRAPHQL_RESPONSE if modern > 0 and modern >= legacy else JSON


def prefers_html(accept: str) -> bool:
    """HTML ranks above both JSON types; each type takes the q of its most specific range (RFC 9110)."""
    weights = _accept_weights(accept)

    def quality(media: str) -> float:
        for media_range in (media, media.split("/")[0] + "/*", "*/*"):
            if media_range in weights:
                return weights[media_range]
        return 0.0

    return quality("text/html") > max(quality(JSON), quality(GRAPHQL_RESPONSE))


def is_request_error(result: ExecutionResult) -> bool:
    """Parsing, validation or variable coercion failed: nothing was executed."""
    return (
        result.data is None
        and bool(result.errors)
        and all(
            e.path is None and (e.extensions or {}).get("code") not in _EXECUTION_CODES
            for e in result.errors or ()
        )
    )


def without_rate_limit(data: Any) -> Any:
    if isinstance(data, list):
        return [without_rate_limit(item) for item in data]
    if not isinstance(data, dict) or "rateLimit" not in (data.get("extensions") or {}):
        return data
    extensions = {k: v for k, v in data["extensions"].items() if k != "rateLimit"}
    return {**data, "extensions": extensions}


def too_large(data: Any, size: int, limit: int) -> Any:
    """What replaces a response over the size cap: each operation's result becomes one error."""
    if isinstance(data, list):
        return [too_large(item, size, limit) for item in data]
    error = {
        "message": f"The response would be {size:,} bytes, over the limit of {limit:,} "
        "(max_response_bytes); the operation ran (a mutation's changes are committed): ask for less",
        "extensions": {"code": Code.RESPONSE_TOO_LARGE, "size": size, "limit": limit},
    }
    replaced: dict[str, Any] = {"data": None, "errors": [error]}
    if isinstance(data, dict) and data.get("extensions"):
        replaced["extensions"] = data["extensions"]
    return replaced


def json_response(data: Any, sub_response: Response, limit: int) -> Response:
    """The JSON body of a result (replaced when over `limit` bytes) with the status, media type and
    headers the request collected on `sub_response`; a GET's carries an ETag."""
    body = orjson.dumps(data)
    if len(body) > limit:
        body = orjson.dumps(too_large(data, len(body), limit))
    headers = {}
    if getattr(sub_response, "is_get", False):
        # The tag ignores rateLimit, whose figures move with every request: a poll whose result did
        # not change still gets its 304 (and keeps the figures of the body it cached).
        headers["ETag"] = etag_of(orjson.dumps(without_rate_limit(data)))
    response = Response(
        body,
        headers=headers,
        status_code=sub_response.status_code or 200,
        media_type=getattr(sub_response, "media_type", None) or JSON,
    )
    for name, value in sub_response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers.append(name, value)
    # Dashboards poll with GET: let them revalidate with the ETag every time.
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


# Strawberry raises its transport errors with a status and one of these fixed messages only.
_TRANSPORT_CODES = {
    "Unable to parse request body as JSON": Code.INVALID_JSON,
    "Unsupported content type": Code.UNSUPPORTED_MEDIA_TYPE,
    "Too many operations": Code.TOO_MANY_OPERATIONS,
    "No GraphQL query found in the request": Code.MISSING_QUERY,
}


def transport_code(status: int, reason: str) -> Code | None:
    """The `extensions.code` of an HTTP error: any other 400 is a body that is no GraphQL request."""
    if status == 405:
        return Code.METHOD_NOT_ALLOWED
    if status == 400:
        return _TRANSPORT_CODES.get(reason, Code.INVALID_REQUEST)
    return None


def error_response(
    accept: str, status: int, reason: str, charge: Charge | None = None, allow: str = "GET, POST"
) -> Response:
    """An HTTP error as a GraphQL-shaped JSON body with its code; a 405 says which methods would do, a
    429 when to retry."""
    headers = {"Allow": allow} if status == 405 else {}
    error: dict[str, Any] = {"message": reason}
    body: dict[str, Any] = {"errors": [error]}
    if charge is not None:
        headers["Retry-After"] = str(charge.retry_after)
        error["extensions"] = {"code": Code.RATE_LIMITED, "retryAfter": charge.retry_after}
        body["extensions"] = {"rateLimit": charge.extension()}
    elif (code := transport_code(status, reason)) is not None:
        error["extensions"] = {"code": code}
    return Response(
        orjson.dumps(body), status_code=status, media_type=response_media_type(accept), headers=headers
    )
