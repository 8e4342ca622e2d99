"""Deploydeck server: the Starlette app and the `python server.py` entry point."""

import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from db.engine import Database
from db.migrate import MigrationsMissing, PendingMigrations
from resolvers import demo
from settings import Settings, parse_settings
from web import graphiql, health
from web.graphql_app import Behaviour, Clock, GraphQLApp
from web.hosts import TrustedHostMiddleware
from web.middleware import (
    BodySizeLimitMiddleware,
    ETagMiddleware,
    RequestIdMiddleware,
    UnexpectedErrorMiddleware,
)

log = logging.getLogger("deploydeck")


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Starlette:
    """The ASGI app; the lifespan owns the database engine."""
    settings = settings or Settings()
    behaviour = Behaviour(
        rollout_seconds=settings.rollout_seconds,
        training_time_scale=settings.training_time_scale,
        tokens=dict(settings.tokens),
        require_token_for_reads=settings.require_token_for_reads,
        limits=settings.limits,
        max_persisted_queries=settings.max_persisted_queries,
        request_timeout=settings.request_timeout,
        max_response_bytes=settings.max_response_bytes,
        db_sessions_per_request=settings.db_sessions_per_request,
        budget=settings.budget,
        response_cache_entries=settings.response_cache_entries if settings.response_cache else 0,
        response_cache_bytes=settings.response_cache_bytes,
    )
    graphql = GraphQLApp(behaviour, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(
            settings.db,
            busy_timeout=settings.db_busy_timeout,
            pool=settings.pool,
            # A second past the deadline: a request's own cancellation comes first; this stops what no
            # request waits for any more (a loader's query, a settle) and statements on a stuck server.
            statement_timeout=settings.request_timeout + 1,
        )
        try:
            await db.prepare(migrate=settings.migrate)
        except (PendingMigrations, MigrationsMissing):
            await db.dispose()
            raise
        except Exception as exc:
            await db.dispose()
            raise RuntimeError(f"cannot open the database {db.display_url}: {exc}") from exc
        if settings.demo and await demo.load(db, clock(), settings.training_time_scale):
            log.info("loaded demo data into %s", db.display_url)
        # Load the fleet snapshot now, so the first dashboard request does not pay for it.
        await graphql.fleet_cache.current(db)
        log.info(
            "serving GraphQL at http://%s:%d/graphql (database %s)",
            settings.host,
            settings.port,
            db.display_url,
        )
        graphql.db = app.state.db = db
        try:
            yield
        finally:
            graphql.db = None
            await graphql.settler.drain()  # a settling write in flight finishes before the engine closes
            await db.dispose()

    # Route, not Mount: Mount answers POST /graphql with a redirect to /graphql/.
    routes = [
        # Every method reaches the endpoint, which answers the ones it refuses with a JSON 405.
        Route("/graphql", graphql, methods=None),
        *graphiql.routes(),
        *health.routes(),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(UnexpectedErrorMiddleware),
        Middleware(TrustedHostMiddleware, allowed=settings.trusted_hosts),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-Request-ID", "If-None-Match"],
            expose_headers=["ETag", "X-Request-ID", "Retry-After"],
            max_age=600,
        ),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(ETagMiddleware),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def main(argv: Sequence[str] | None = None, prog: str = "python server.py") -> None:
    settings = parse_settings(argv, prog=prog)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if settings.tokens:
        log.info("API tokens configured for: %s", ", ".join(name for name, _ in settings.tokens))
    else:
        log.warning("no API tokens configured: writes are open to anyone who can reach %s", settings.host)
    # uvicorn handles SIGTERM: it stops accepting and lets in-flight requests finish. Then it
    # re-raises the signal; this handler turns that into a normal return, so the exit code is 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    app = create_app(settings)
    # What is built by now (modules, the schema, mappers) lives as long as the process: keep it out of the
    # cyclic collector, whose full passes over it paused the event loop 70-260 ms each (here, not in
    # create_app: a test process creates many apps, and frozen objects are never collected).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Our own access line (web/middleware.py) has the request id and no query string, which
        # may carry a persisted query's variables or a token pasted into a URL.
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
