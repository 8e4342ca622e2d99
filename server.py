"""Deploydeck server: settings, the Starlette app, and the `python server.py` entry point."""

import argparse
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from db.engine import Database
from resolvers import demo
from web import graphiql
from web.graphql_app import Behaviour, Clock, GraphQLApp
from web.middleware import ETagMiddleware, RequestIdMiddleware

log = logging.getLogger("deploydeck")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default; flags and environment variables both feed it."""

    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "deploydeck.db"
    demo: bool = True
    rollout_seconds: float = 30.0
    training_time_scale: float = 1.0
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"


def _non_negative(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def parse_settings(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from flags, falling back to environment variables, then defaults."""
    env = dict(os.environ) if env is None else env
    d = Settings()
    parser = argparse.ArgumentParser(
        prog="python server.py",
        description="Deploydeck: a GraphQL API to deploy ML models and monitor their inference metrics.",
    )
    parser.add_argument(
        "--host",
        default=env.get("DEPLOYDECK_HOST", d.host),
        help="address to bind (env DEPLOYDECK_HOST; default %(default)s)",
    )
    # String defaults go through `type` too, so a bad environment value fails like a bad flag.
    parser.add_argument(
        "--port",
        type=int,
        default=env.get("DEPLOYDECK_PORT", str(d.port)),
        help="port to bind (env DEPLOYDECK_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--db",
        default=env.get("DATABASE_URL", d.db),
        help="SQLite file path or database URL (env DATABASE_URL; default %(default)s)",
    )
    demo_default = d.demo if "DEPLOYDECK_DEMO" not in env else _env_bool_from(env, "DEPLOYDECK_DEMO")
    parser.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=demo_default,
        help="load demo data into an empty database (env DEPLOYDECK_DEMO; default %(default)s)",
    )
    parser.add_argument(
        "--rollout-seconds",
        type=_non_negative,
        default=env.get("DEPLOYDECK_ROLLOUT_SECONDS", str(d.rollout_seconds)),
        help="how long a simulated rollout takes (env DEPLOYDECK_ROLLOUT_SECONDS; default %(default)s)",
    )
    parser.add_argument(
        "--training-time-scale",
        type=_non_negative,
        default=env.get("DEPLOYDECK_TRAINING_TIME_SCALE", str(d.training_time_scale)),
        help="multiplies simulated training durations; 1 runs a small 3-epoch job in ~2 min, "
        "0 finishes jobs at once (env DEPLOYDECK_TRAINING_TIME_SCALE; default %(default)s)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        default=None,
        help="a browser origin allowed to call the API, e.g. https://dash.example.com; repeatable "
        "(env DEPLOYDECK_CORS_ORIGINS, comma-separated; default: none)",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=env.get("DEPLOYDECK_LOG_LEVEL", d.log_level),
        help="log verbosity (env DEPLOYDECK_LOG_LEVEL; default %(default)s)",
    )
    args = parser.parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port,
        db=args.db,
        demo=args.demo,
        rollout_seconds=args.rollout_seconds,
        training_time_scale=args.training_time_scale,
        cors_origins=tuple(args.cors_origins or _split(env.get("DEPLOYDECK_CORS_ORIGINS", ""))),
        log_level=args.log_level,
    )


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _env_bool_from(env: dict[str, str], name: str) -> bool:
    raw = env[name].lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, got {env[name]!r}")


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Starlette:
    """The ASGI app; the lifespan owns the database engine."""
    settings = settings or Settings()
    graphql = GraphQLApp(Behaviour(settings.rollout_seconds, settings.training_time_scale), clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.db)
        await db.create_schema()
        if settings.demo and await demo.load(db, clock(), settings.training_time_scale):
            log.info("loaded demo data into %s", db.url)
        # Load the fleet snapshot now, so the first dashboard request does not pay for it.
        await graphql.fleet_cache.current(db)
        graphql.db = app.state.db = db
        try:
            yield
        finally:
            graphql.db = None
            await db.dispose()

    # Route, not Mount: Mount answers POST /graphql with a redirect to /graphql/.
    routes = [Route("/graphql", graphql, methods=["GET", "POST"]), *graphiql.routes()]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-Request-ID", "If-None-Match"],
            expose_headers=["ETag", "X-Request-ID"],
            max_age=600,
        ),
        Middleware(ETagMiddleware),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def main(argv: Sequence[str] | None = None) -> None:
    settings = parse_settings(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    log.info(
        "serving GraphQL at http://%s:%d/graphql (database %s)", settings.host, settings.port, settings.db
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
