"""The GraphQL endpoint: strawberry's ASGI app with our context, one clock per request, orjson."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from db.engine import Database
from resolvers import lifecycle
from resolvers.context import Context
from resolvers.fleet import FleetCache
from schema import schema
from web import graphiql

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Behaviour:
    """What the endpoint needs of the settings."""

    rollout_seconds: float
    training_time_scale: float


class GraphQLApp(GraphQL):  # type: ignore[type-arg]
    def __init__(self, behaviour: Behaviour, clock: Clock) -> None:
        super().__init__(schema)
        self.behaviour = behaviour
        self.clock = clock
        self.db: Database | None = None
        self.fleet_cache = FleetCache()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert self.db is not None, "the lifespan opens the database"
        now = self.clock()
        await lifecycle.settle(self.db, now)
        return Context(
            db=self.db,
            fleet_cache=self.fleet_cache,
            now=now,
            rollout_seconds=self.behaviour.rollout_seconds,
            training_time_scale=self.behaviour.training_time_scale,
            request=request,
            response=response,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page())

    def encode_json(self, data: Any) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)
