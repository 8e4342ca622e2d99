"""The GraphQL endpoint: strawberry's ASGI app with our context and GraphQL over HTTP done right.

On top of strawberry: one clock reading per request, orjson, the GraphQL-over-HTTP media types and
status codes, the deadline, response-size cap, session bound and cost budget while a request runs,
and the response cache. The steps in order: ARCHITECTURE.md, "How a request flows".
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from cross_web import HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from db.engine import Database
from resolvers import lifecycle
from resolvers.context import Context
from resolvers.errors import DatabaseUnavailable
from resolvers.snapshot import FleetCache
from schema import build_schema, yielding
from settings import Settings
from web import deadline, graphiql
from web.auth import identify
from web.client_budget import Throttled, client_budget
from web.http_shapes import (
    BODY_SHAPE,
    GRAPHQL_RESPONSE,
    MutationOverGet,
    checked_body,
    error_response,
    is_request_error,
    json_response,
    logged_operation,
    prefers_html,
    response_media_type,
    unknown_operation,
)
from web.persisted import PersistedQueries
from web.ratelimit import RateLimiter, RequestBudget
from web.response_cache import Lookup, ResponseCache, key_of
from web.sessions import RequestDatabase

Clock = Callable[[], datetime]


@dataclass
class WebContext(Context):
    budget: RequestBudget | None = None  # the client's cost budget; None when budgets are off


class _RequestAdapter(StarletteRequestAdapter):
    @property
    def content_type(self) -> str | None:
        # Media types are case-insensitive (RFC 9110, 8.3.1), but strawberry looks for "application/json"
        # as written: lower the type; parameters (charset) stay as sent.
        value = super().content_type
        if value is None:
            return None
        media, separator, parameters = value.partition(";")
        return media.lower() + separator + parameters


class GraphQLApp(GraphQL):  # type: ignore[type-arg]
    request_adapter_class = _RequestAdapter

    def __init__(self, settings: Settings, clock: Clock) -> None:
        super().__init__(build_schema(settings.limits))
        self.settings = settings
        self.clock = clock
        self.db: Database | None = None
        self.fleet_cache = FleetCache()
        self.persisted = PersistedQueries(settings.max_persisted_queries)
        self.settler = lifecycle.Settler(clock)  # due rollouts and training steps, one write at a time
        self.limiter = RateLimiter(settings.budget, clock) if settings.budget.enabled else None
        self.response_cache = (
            ResponseCache(settings.response_cache_entries, settings.response_cache_bytes)
            if settings.response_cache and settings.response_cache_entries > 0
            else None
        )
        self.tokens = settings.token_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope=scope, receive=receive)
        request.state.deadline = asyncio.get_running_loop().time() + self.settings.request_timeout
        with yielding.light_request() as request.state.turned_heavy:
            response = await self._respond(request)
        # The body (HTML page or JSON, and which JSON type) depends on Accept: tell caches.
        response.headers.add_vary_header("Accept")
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            response = await self.run(request)
        except Throttled as exc:
            response = error_response(request.headers.get("accept", ""), 429, exc.reason, exc.charge)
        except MutationOverGet as exc:
            response = error_response(
                request.headers.get("accept", ""), exc.status_code, exc.reason, allow="POST"
            )
        except HTTPException as exc:
            response = error_response(request.headers.get("accept", ""), exc.status_code, exc.reason)
        else:
            budget: RequestBudget | None = getattr(request.state, "budget", None)
            if budget is not None and (refused := budget.throttled) is not None:
                response.status_code = 429  # the budget stopped every operation: nothing ran
                response.headers["Retry-After"] = str(refused.retry_after)
        return response

    async def get_context(  # type: ignore[override]  # the base's context type is None
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert self.db is not None, "the lifespan opens the database"
        tokens = self.tokens
        authorization = request.headers.get("authorization")
        who = identify(authorization, tokens)
        address = request.client.host if request.client else "unknown"
        failed_auth = bool(tokens and authorization and who.actor is None)
        budget = client_budget(self.limiter, address, who.actor, failed_auth) if self.limiter else None
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
                max_sessions=self.settings.db_sessions_per_request,
                commit_grace=self.settings.request_timeout,
            ),
            budget=budget,
            fleet_cache=self.fleet_cache,
            now=now,
            settings=self.settings,
            actor=who.actor or "anonymous",
            may_write=not tokens or who.actor is not None,
            may_read=not (tokens and self.settings.require_token_for_reads) or who.actor is not None,
            request=request,
            response=response,
            known_revision=check.observed.fleet_revision if check.current and check.observed else None,
            fresh_revision=(
                None
                if check.current or check.since is None
                else partial(self.settler.revision_since, self.db, now, check.since)
            ),
        )

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 and nesting past 1,024 levels with a JSONDecodeError (a 400),
        # where the stdlib raised UnicodeDecodeError or RecursionError (a 500).
        return orjson.loads(data)

    async def parse_http_body(self, request: Any) -> Any:
        try:
            parsed = await super().parse_http_body(request)
        except (AttributeError, TypeError) as exc:  # a body that is not an object or a list of them
            raise HTTPException(400, BODY_SHAPE) from exc
        return checked_body(parsed)

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
        request.state.operation = logged_operation(request_data.query, request_data.operation_name)
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
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        except TimeoutError:
            if not timer.expired():
                raise
            return self._timed_out(context)
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                raise MutationOverGet from exc
            if isinstance(exc.__cause__, CannotGetOperationTypeError):
                return unknown_operation(exc.__cause__.operation_name)  # a request error, not a bad request
            raise
        if persisted is not None and not is_request_error(result):
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
        served = self.response_cache.serve(lookup, context.budget, spent, self.settings.limits.max_cost)
        if served is None:
            return None
        result, cost = served
        request.state.cost_spent = spent + cost
        return result

    def _remember(self, lookup: Lookup, result: ExecutionResult, context: WebContext) -> None:
        assert self.response_cache is not None
        self.response_cache.remember(lookup, result, context.instant_used, self.settings.max_response_bytes)

    def _timed_out(self, context: WebContext) -> ExecutionResult:
        error = deadline.timeout_error(self.settings.request_timeout, context.db.commits)  # type: ignore[attr-defined]
        extensions = {"rateLimit": context.budget.extension()} if context.budget else None
        return ExecutionResult(data=None, errors=[error], extensions=extensions)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        media = response_media_type(request.headers.get("accept", ""))
        sub_response = request.state.sub_response
        sub_response.media_type = media
        if is_request_error(result):
            data.pop("data", None)  # the GraphQL spec: no data entry when nothing was executed
            if media == GRAPHQL_RESPONSE:
                sub_response.status_code = 400
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        return json_response(response_data, sub_response, self.settings.max_response_bytes)

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
