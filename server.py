"""Deploydeck server: the Starlette app and the `python server.py` entry point."""

import gc
import json
import logging
import logging.config
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from db.engine import Database
from db.migrate import MigrationsMissing, PendingMigrations
from resolvers import demo
from settings import Settings, parse_settings
from web import graphiql, health, metrics
from web.graphql_app import Clock, GraphQLApp
from web.hosts import TrustedHostMiddleware
from web.logs import log_config
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
    graphql = GraphQLApp(settings, clock)
    app_metrics = metrics.Metrics(graphql)

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
            app_metrics.stopped()

    # Route, not Mount: Mount answers POST /graphql with a redirect to /graphql/.
    routes = [
        # Every method reaches the endpoint, which answers the ones it refuses with a JSON 405.
        Route("/graphql", graphql, methods=None),
        *graphiql.routes(),
        *health.routes(),
        *metrics.routes(app_metrics),
    ]
    middleware = [
        Middleware(RequestIdMiddleware, metrics=app_metrics),
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


WORKER_ARGV = "DEPLOYDECK_WORKER_ARGV"  # the parent's flags, as JSON, for each worker to parse again


def main(argv: Sequence[str] | None = None, prog: str = "python server.py") -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings = parse_settings(argv, prog=prog)
    logging.config.dictConfig(log_config(settings.log_level, settings.log_format))
    if settings.tokens:
        log.info("API tokens configured for: %s", ", ".join(name for name, _ in settings.tokens))
    else:
        log.warning("no API tokens configured: writes are open to anyone who can reach %s", settings.host)
    # uvicorn handles SIGTERM: it stops accepting and lets in-flight requests finish. Then it
    # re-raises the signal; this handler turns that into a normal return, so the exit code is 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": log_config(settings.log_level, settings.log_format),
        # Our own access line (web/middleware.py) has the request id and no query string, which
        # may carry a persisted query's variables or a token pasted into a URL.
        "access_log": False,
        "timeout_graceful_shutdown": 30,
    }
    if settings.workers > 1:
        sys.exit(_serve_workers(argv, prog, settings.workers, options))
    app = create_app(settings)
    _freeze_startup_objects()
    uvicorn.run(app, **options)
    sys.exit(0)


def _freeze_startup_objects() -> None:
    # What is built by now (modules, the schema, mappers) lives as long as the process: keep it out of the
    # cyclic collector, whose full passes over it paused the event loop 70-260 ms each (here, not in
    # create_app: a test process creates many apps, and frozen objects are never collected).
    gc.collect()
    gc.freeze()


def _serve_workers(argv: list[str], prog: str, workers: int, options: dict[str, Any]) -> int:
    """uvicorn's supervisor: one socket, `workers` spawned processes; SIGTERM drains them all. Exit code."""
    os.environ[WORKER_ARGV] = json.dumps({"argv": argv, "prog": prog})
    # Each worker's counters go to files here, so a scrape of any worker sums them all (web/metrics.py).
    own_dir = not os.environ.get(metrics.MULTIPROCESS_DIR)
    if own_dir:
        os.environ[metrics.MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="deploydeck-metrics-")
    try:
        config = uvicorn.Config(
            "server:worker_app",
            factory=True,
            workers=workers,
            # The supervisor kills a worker whose ping thread does not answer within this: 5 s by default,
            # which a worker loading a large fleet snapshot on a busy machine can miss (seen: a worker
            # replaced mid-test). A hung worker is still replaced, half a minute later.
            timeout_worker_healthcheck=30,
            **options,
        )
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
    finally:
        if own_dir:
            shutil.rmtree(os.environ.pop(metrics.MULTIPROCESS_DIR), ignore_errors=True)
    # A worker that could not start (database unreachable, pending migrations) stops the parent too.
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def worker_app() -> Starlette:
    """The app of one `--workers` process (uvicorn's factory): the parent's flags, parsed again here."""
    handed = json.loads(os.environ[WORKER_ARGV])
    app = create_app(parse_settings(handed["argv"], prog=handed["prog"]))
    _freeze_startup_objects()
    return app


if __name__ == "__main__":
    main()
