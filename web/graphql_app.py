"""The GraphQL endpoint: strawberry's ASGI app with our context and GraphQL over HTTP done right.

On top of strawberry: one clock reading per request, orjson, the
`application/graphql-response+json` media type (400 and no `data` for request errors, as
the GraphQL-over-HTTP spec asks), 405 with `Allow` for mutations over GET, and every HTTP
error as a GraphQL-shaped JSON body.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from db.engine import Database
from resolvers import lifecycle
from resolvers.context import Context
from resolvers.errors import DatabaseUnavailable
from resolvers.fleet import FleetCache
from schema import build_schema
from schema.limits import Limits
from web import graphiql
from web.auth import identify
from web.persisted import PersistedQueries

Clock = Callable[[], datetime]
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_BODY_SHAPE = (
    "The request body must be a JSON object with `query` (a string), and optionally `variables` and "
    "`extensions` (objects) and `operationName` (a string), or a list of such objects"
)
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


@dataclass(frozen=True)
class Behaviour:
    """What the endpoint needs of the settings."""

    rollout_seconds: float
    training_time_scale: float
    tokens: dict[str, str] = field(default_factory=dict)  # name -> token; empty: writes are open
    require_token_for_reads: bool = False
    limits: Limits = field(default_factory=Limits)
    max_persisted_queries: int = 1000


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


def _is_request_error(result: ExecutionResult) -> bool:
    """Parsing, validation or variable coercion failed: nothing was executed."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors)


class GraphQLApp(GraphQL):  # type: ignore[type-arg]
    def __init__(self, behaviour: Behaviour, clock: Clock) -> None:
        super().__init__(build_schema(behaviour.limits))
        self.behaviour = behaviour
        self.clock = clock
        self.db: Database | None = None
        self.fleet_cache = FleetCache()
        self.persisted = PersistedQueries(behaviour.max_persisted_queries)
        self.settler = lifecycle.Settler(clock)  # due rollouts and training steps, one write at a time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = self._error_response(request, exc.status_code, exc.reason)
        # The body (HTML page or JSON, and which JSON type) depends on Accept: tell caches.
        response.headers.add_vary_header("Accept")
        await response(scope, receive, send)

    def _error_response(self, request: Request, status: int, reason: str) -> Response:
        headers = {"Allow": "POST" if "mutation" in reason else "GET, POST"} if status == 405 else {}
        return Response(
            orjson.dumps({"errors": [{"message": reason}]}),
            status_code=status,
            media_type=response_media_type(request.headers.get("accept", "")),
            headers=headers,
        )

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert self.db is not None, "the lifespan opens the database"
        now = self.clock()
        try:
            await self.settler.settle(self.db, now)
        except DatabaseUnavailable:
            raise HTTPException(503, "The database is unreachable; try again shortly") from None
        request.state.sub_response = response
        tokens = self.behaviour.tokens
        who = identify(request.headers.get("authorization"), tokens)
        return Context(
            db=self.db,
            fleet_cache=self.fleet_cache,
            now=now,
            rollout_seconds=self.behaviour.rollout_seconds,
            training_time_scale=self.behaviour.training_time_scale,
            actor=who.actor or "anonymous",
            may_write=not tokens or who.actor is not None,
            may_read=not (tokens and self.behaviour.require_token_for_reads) or who.actor is not None,
            request=request,
            response=response,
        )

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 and nesting past 1,024 levels with a JSONDecodeError (a 400),
        # where the stdlib raised UnicodeDecodeError or RecursionError (a 500).
        return orjson.loads(data)

    async def parse_http_body(self, request: Any) -> Any:
        try:
            parsed = await super().parse_http_body(request)
        except (AttributeError, TypeError) as exc:  # a body that is not an object or a list of them
            raise HTTPException(400, _BODY_SHAPE) from exc
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if not (
                isinstance(item.query, str | None)
                and isinstance(item.variables, dict | None)
                and isinstance(item.operation_name, str | None)
                and isinstance(item.extensions, dict | None)
            ):
                raise HTTPException(400, _BODY_SHAPE)
        if isinstance(parsed, list) and not parsed:
            raise HTTPException(400, "An empty batch holds no operation")
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        persisted = self.persisted.prepare(request_data)  # APQ: may fill in request_data.query
        # The log names the operation only as the document does: an operationName the document
        # does not define is the client's free text (perhaps a pasted token), never logged.
        defined = _OPERATION.findall(request_data.query or "")
        name = request_data.operation_name  # a string or None: parse_http_body checked
        if name is None:
            request.state.operation = defined[0] if defined else "anonymous"
        else:
            request.state.operation = name if name in defined else "unknown"
        if isinstance(persisted, ExecutionResult):
            return persisted  # refused: nothing runs
        try:
            result = await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=request_data,
            )
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                # A mutation over GET: the method is wrong, not the request (spec: 405).
                raise HTTPException(405, "mutations are not allowed when using GET; use POST") from exc
            raise
        if persisted is not None and not _is_request_error(result):
            self.persisted.register(persisted, request_data.query)  # it parsed and passed validation
        return result

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        media = response_media_type(request.headers.get("accept", ""))
        sub_response = request.state.sub_response
        sub_response.media_type = media
        if _is_request_error(result):
            data.pop("data", None)  # the GraphQL spec: no data entry when nothing was executed
            if media == GRAPHQL_RESPONSE:
                sub_response.status_code = 400
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or 200,
            media_type=getattr(sub_response, "media_type", None) or JSON,
        )
        for name, value in sub_response.headers.items():
            if name.lower() not in ("content-type", "content-length"):
                response.headers.append(name, value)
        # Dashboards poll with GET: let them revalidate with the ETag every time.
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # The page writes the edited query into its URL so that a link shares it: a browser opening
        # such a link gets the page (which reads the URL), a client asking for JSON the result.
        # A GET carrying `extensions` is an API call (a persisted query by hash), never a visit.
        if "extensions" in request.query_params:
            return False
        if request.method == "GET" and request.query_params.get("query") is not None:
            return prefers_html(request.headers.get("accept", ""))
        return super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page(), headers=graphiql.PAGE_HEADERS)

    def encode_json(self, data: Any) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)
