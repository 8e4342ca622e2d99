"""The GraphQL endpoint: strawberry's ASGI app with our context and GraphQL over HTTP done right.

On top of strawberry: one clock reading per request, orjson, the
`application/graphql-response+json` media type (400 and no `data` for request errors, as
the GraphQL-over-HTTP spec asks), 405 with `Allow` for mutations over GET, and every HTTP
error as a GraphQL-shaped JSON body. Bounds while a request runs: a deadline (web/deadline.py),
a response-size cap, database sessions per request (web/sessions.py) and the client's cost
budget (web/ratelimit.py; HTTP 429 with Retry-After when it stopped everything). A repeated query
is answered from the response cache (web/response_cache.py) while nothing it shows can have changed.
"""

import asyncio
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
from domain import Code
from resolvers import lifecycle
from resolvers.context import Context
from resolvers.errors import DatabaseUnavailable
from resolvers.fleet import FleetCache
from schema import build_schema, yielding
from schema.limits import Limits
from web import deadline, graphiql
from web.auth import identify
from web.middleware import etag_of
from web.persisted import PersistedQueries
from web.ratelimit import AUTH_FAILURE_COST, Budget, Charge, RateLimiter, RequestBudget
from web.response_cache import Lookup, ResponseCache, key_of
from web.sessions import RequestDatabase

Clock = Callable[[], datetime]
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_BODY_SHAPE = (
    "The request body must be a JSON object with `query` (a string), and optionally `variables` and "
    "`extensions` (objects) and `operationName` (a string), or a list of such objects"
)
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
# Errors of operations that started executing: not "request errors" (no 400, `data` stays null).
_EXECUTION_CODES = (Code.TIMEOUT, Code.RESPONSE_TOO_LARGE)


@dataclass(frozen=True)
class Behaviour:
    """What the endpoint needs of the settings."""

    rollout_seconds: float
    training_time_scale: float
    tokens: dict[str, str] = field(default_factory=dict)  # name -> token; empty: writes are open
    require_token_for_reads: bool = False
    limits: Limits = field(default_factory=Limits)
    max_persisted_queries: int = 1000
    request_timeout: float = 5.0
    max_response_bytes: int = 8 * 1024 * 1024
    db_sessions_per_request: int = 4
    budget: Budget = field(default_factory=Budget)
    response_cache_entries: int = 1000  # 0: no response cache
    response_cache_bytes: int = 64 * 1024 * 1024


@dataclass
class WebContext(Context):
    budget: RequestBudget | None = None  # the client's cost budget; None when budgets are off


class MutationOverGet(HTTPException):
    """A mutation sent with GET: the method is wrong, not the request (spec: 405, `Allow: POST`)."""

    def __init__(self) -> None:
        super().__init__(405, "mutations are not allowed when using GET; use POST")


class Throttled(HTTPException):
    """The client's budget is spent: 429 before anything is parsed."""

    def __init__(self, charge: Charge, reason: str) -> None:
        super().__init__(429, reason)
        self.charge = charge


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
    return (
        result.data is None
        and bool(result.errors)
        and all(
            e.path is None and (e.extensions or {}).get("code") not in _EXECUTION_CODES for e in result.errors
        )
    )


def _without_rate_limit(data: Any) -> Any:
    if isinstance(data, list):
        return [_without_rate_limit(item) for item in data]
    if not isinstance(data, dict) or "rateLimit" not in (data.get("extensions") or {}):
        return data
    extensions = {k: v for k, v in data["extensions"].items() if k != "rateLimit"}
    return {**data, "extensions": extensions}


def _too_large(data: Any, size: int, limit: int) -> Any:
    """What replaces a response over the size cap: each operation's result becomes one error."""
    if isinstance(data, list):
        return [_too_large(item, size, limit) for item in data]
    error = {
        "message": f"The response would be {size:,} bytes, over the limit of {limit:,} "
        "(max_response_bytes); the operation ran (a mutation's changes are committed): ask for less",
        "extensions": {"code": Code.RESPONSE_TOO_LARGE, "size": size, "limit": limit},
    }
    replaced: dict[str, Any] = {"data": None, "errors": [error]}
    if isinstance(data, dict) and data.get("extensions"):
        replaced["extensions"] = data["extensions"]
    return replaced


class GraphQLApp(GraphQL):  # type: ignore[type-arg]
    def __init__(self, behaviour: Behaviour, clock: Clock) -> None:
        super().__init__(build_schema(behaviour.limits))
        self.behaviour = behaviour
        self.clock = clock
        self.db: Database | None = None
        self.fleet_cache = FleetCache()
        self.persisted = PersistedQueries(behaviour.max_persisted_queries)
        self.settler = lifecycle.Settler(clock)  # due rollouts and training steps, one write at a time
        self.limiter = RateLimiter(behaviour.budget, clock) if behaviour.budget.enabled else None
        self.response_cache = (
            ResponseCache(behaviour.response_cache_entries, behaviour.response_cache_bytes)
            if behaviour.response_cache_entries > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope=scope, receive=receive)
        request.state.deadline = asyncio.get_running_loop().time() + self.behaviour.request_timeout
        with yielding.light_request() as request.state.turned_heavy:
            response = await self._respond(request)
        # The body (HTML page or JSON, and which JSON type) depends on Accept: tell caches.
        response.headers.add_vary_header("Accept")
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            response = await self.run(request)
        except Throttled as exc:
            response = self._error_response(request, 429, exc.reason, exc.charge)
        except MutationOverGet as exc:
            response = self._error_response(request, exc.status_code, exc.reason, allow="POST")
        except HTTPException as exc:
            response = self._error_response(request, exc.status_code, exc.reason)
        else:
            budget: RequestBudget | None = getattr(request.state, "budget", None)
            if budget is not None and (refused := budget.throttled) is not None:
                response.status_code = 429  # the budget stopped every operation: nothing ran
                response.headers["Retry-After"] = str(refused.retry_after)
        return response

    def _error_response(
        self,
        request: Request,
        status: int,
        reason: str,
        charge: Charge | None = None,
        allow: str = "GET, POST",
    ) -> Response:
        headers = {"Allow": allow} if status == 405 else {}
        body: dict[str, Any] = {"errors": [{"message": reason}]}
        if charge is not None:
            headers["Retry-After"] = str(charge.retry_after)
            body["errors"][0]["extensions"] = {"code": Code.RATE_LIMITED, "retryAfter": charge.retry_after}
            body["extensions"] = {"rateLimit": charge.extension()}
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=response_media_type(request.headers.get("accept", "")),
            headers=headers,
        )

    def _budget(
        self, request: Request | WebSocket, actor: str | None, failed_auth: bool
    ) -> RequestBudget | None:
        """The client's budget: its token's, else its address's; spent ones refuse the request here."""
        if self.limiter is None:
            return None
        address = request.client.host if request.client else "unknown"
        if failed_auth:  # charged to the address: a wrong token is no way to a fresh bucket
            charge = self.limiter.charge(f"address:{address}", AUTH_FAILURE_COST)
            if not charge.allowed:
                raise Throttled(charge, "Too many failed authentications from this address; slow down")
        budget = RequestBudget(self.limiter, f"token:{actor}" if actor else f"address:{address}")
        held = self.limiter.charge(budget.key, 0)
        if held.remaining < 1:
            refused = self.limiter.charge(budget.key, 1)  # nothing left: the wait for one unit
            raise Throttled(refused, "Your cost budget is spent; retry after the Retry-After seconds")
        return budget

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert self.db is not None, "the lifespan opens the database"
        tokens = self.behaviour.tokens
        authorization = request.headers.get("authorization")
        who = identify(authorization, tokens)
        budget = self._budget(request, who.actor, bool(tokens and authorization and who.actor is None))
        request.state.budget = budget
        now = self.clock()
        try:
            # Also what the response cache serves by: the data revision and the next due change.
            check = await self.settler.settle(self.db, now, fresh=self.response_cache is not None)
        except DatabaseUnavailable:
            raise HTTPException(503, "The database is unreachable; try again shortly") from None
        request.state.observed = check.observed
        request.state.sub_response = response
        response.is_get = request.method == "GET"  # type: ignore[union-attr]
        return WebContext(
            db=RequestDatabase(  # type: ignore[arg-type]
                self.db,
                max_sessions=self.behaviour.db_sessions_per_request,
                commit_grace=self.behaviour.request_timeout,
            ),
            budget=budget,
            fleet_cache=self.fleet_cache,
            now=now,
            rollout_seconds=self.behaviour.rollout_seconds,
            training_time_scale=self.behaviour.training_time_scale,
            actor=who.actor or "anonymous",
            may_write=not tokens or who.actor is not None,
            may_read=not (tokens and self.behaviour.require_token_for_reads) or who.actor is not None,
            request=request,
            response=response,
            known_revision=check.observed.fleet_revision if check.current and check.observed else None,
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
        lookup = self._cache_lookup(request, request_data, context)
        if lookup is not None:
            request.state.cache_hit = False  # the access log's and /metrics' view; a hit sets True
        if lookup is not None and (cached := self._cached(request, context, lookup)) is not None:
            request.state.cache_hit = True
            if persisted is not None:
                self.persisted.register(persisted, request_data.query)  # it ran before, so it validates
            return cached
        try:
            async with deadline.bounded(request.state.deadline) as timer:
                result = await super().execute_single(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                )
        except TimeoutError:
            if not timer.expired():
                raise
            return self._timed_out(context)
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                raise MutationOverGet from exc
            raise
        if persisted is not None and not _is_request_error(result):
            self.persisted.register(persisted, request_data.query)  # it parsed and passed validation
        if lookup is not None:
            self._remember(lookup, result, context)
        return result

    def _cache_lookup(self, request: Request, request_data: Any, context: WebContext) -> Lookup | None:
        """Where a query's result lives in the response cache; None when it may not be cached."""
        observed = getattr(request.state, "observed", None)
        query, name = request_data.query, request_data.operation_name
        if self.response_cache is None or observed is None or not isinstance(query, str):
            return None
        try:
            key = key_of(query, name, request_data.variables, (context.may_read, context.may_write))
        except TypeError:  # variables orjson cannot encode canonically
            return None
        if not self.response_cache.reads(key, query, name):
            return None  # mutations always run
        return Lookup(key, observed, context.now)

    def _cached(self, request: Request, context: WebContext, lookup: Lookup) -> ExecutionResult | None:
        """A hit, charged to the client's budget as executing would be; None: execute."""
        assert self.response_cache is not None
        spent = getattr(request.state, "cost_spent", 0)  # a batch's operations share max_cost
        served = self.response_cache.serve(lookup, context.budget, spent, self.behaviour.limits.max_cost)
        if served is None:
            return None
        result, cost = served
        request.state.cost_spent = spent + cost
        return result

    def _remember(self, lookup: Lookup, result: ExecutionResult, context: WebContext) -> None:
        assert self.response_cache is not None
        self.response_cache.remember(lookup, result, context.instant_used, self.behaviour.max_response_bytes)

    def _timed_out(self, context: WebContext) -> ExecutionResult:
        error = deadline.timeout_error(self.behaviour.request_timeout, context.db.commits)  # type: ignore[attr-defined]
        extensions = {"rateLimit": context.budget.extension()} if context.budget else None
        return ExecutionResult(data=None, errors=[error], extensions=extensions)

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
        body = self.encode_json(response_data)
        limit = self.behaviour.max_response_bytes
        if len(body) > limit:
            body = self.encode_json(_too_large(response_data, len(body), limit))
        headers = {}
        if getattr(sub_response, "is_get", False):
            # The tag ignores rateLimit, whose figures move with every request: a poll whose result did
            # not change still gets its 304 (and keeps the figures of the body it cached).
            headers["ETag"] = etag_of(self.encode_json(_without_rate_limit(response_data)))
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
