"""Every setting in one place: a flag, an environment variable and a default each; flags win."""

import argparse
import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from db.engines import Pool
from schema.limits import Limits
from web.auth import TokenConfigError, load_tokens
from web.hosts import LOCAL_NAMES, host_name
from web.ratelimit import Budget


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    db: str = "deploydeck.db"
    db_busy_timeout: float = 5.0
    migrate: bool = True
    db_pool_size: int = Pool.size
    db_pool_max_overflow: int = Pool.max_overflow
    db_pool_timeout: float = Pool.timeout
    demo: bool = True
    rollout_seconds: float = 30.0
    training_time_scale: float = 1.0
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # empty: the bound address and localhost names
    tokens: tuple[tuple[str, str], ...] = ()  # (name, token); from DEPLOYDECK_TOKENS and --tokens-file
    require_token_for_reads: bool = False
    allow_open_writes: bool = False
    max_depth: int = Limits.max_depth
    max_aliases: int = Limits.max_aliases
    max_tokens: int = Limits.max_tokens
    max_batch: int = Limits.max_batch
    max_cost: int = Limits.max_cost
    max_body_bytes: int = 256 * 1024
    max_persisted_queries: int = 1000
    request_timeout: float = 5.0
    max_response_bytes: int = 8 * 1024 * 1024
    db_sessions_per_request: int = 4
    rate_limit_capacity: int = Budget.capacity
    rate_limit_refill: float = Budget.refill_per_second
    introspection: bool = True
    response_cache: bool = True
    response_cache_entries: int = 1000
    response_cache_bytes: int = 64 * 1024 * 1024
    log_level: str = "info"
    log_format: str = "text"
    workers: int = 1  # server processes on the one socket and database; `auto` parses to os.cpu_count()

    @property
    def limits(self) -> Limits:
        return Limits(
            max_depth=self.max_depth,
            max_aliases=self.max_aliases,
            max_tokens=self.max_tokens,
            max_batch=self.max_batch,
            max_cost=self.max_cost,
            introspection=self.introspection,
        )

    @property
    def budget(self) -> Budget:
        return Budget(capacity=self.rate_limit_capacity, refill_per_second=self.rate_limit_refill)

    @property
    def pool(self) -> Pool:
        return Pool(
            size=self.db_pool_size, max_overflow=self.db_pool_max_overflow, timeout=self.db_pool_timeout
        )

    @property
    def trusted_hosts(self) -> frozenset[str] | None:
        """Host headers served; None (any) when bound to every interface with no list given."""
        if self.allowed_hosts:
            return frozenset(host_name(h) for h in self.allowed_hosts)
        if self.host in ("0.0.0.0", "::", ""):
            return None
        return LOCAL_NAMES | {host_name(self.host)}

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _non_negative(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {raw}")
    return value


def _positive(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {raw}")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {raw}")
    return value


def _workers(raw: str) -> int:
    if raw.strip().lower() == "auto":
        return os.cpu_count() or 1
    try:
        return _positive_int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 1 or auto, got {raw!r}") from None


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, got {raw!r}")


# (setting, environment variable, value type, help); the flag is --setting-with-dashes.
_OPTIONS: list[tuple[str, str, Callable[[str], Any], str]] = [
    (
        "host",
        "DEPLOYDECK_HOST",
        str,
        "address to bind; a non-loopback address needs tokens or --allow-open-writes",
    ),
    ("port", "DEPLOYDECK_PORT", int, "port to bind"),
    ("db", "DATABASE_URL", str, "SQLite file path or database URL"),
    (
        "db_busy_timeout",
        "DEPLOYDECK_DB_BUSY_TIMEOUT",
        _non_negative,
        "seconds a write waits for another writer's lock (then retried twice, then DATABASE_BUSY)",
    ),
    (
        "db_pool_size",
        "DEPLOYDECK_DB_POOL_SIZE",
        _positive_int,
        "connections kept open per process (PostgreSQL)",
    ),
    (
        "db_pool_max_overflow",
        "DEPLOYDECK_DB_POOL_MAX_OVERFLOW",
        int,
        "extra connections allowed under load, per process (PostgreSQL)",
    ),
    (
        "db_pool_timeout",
        "DEPLOYDECK_DB_POOL_TIMEOUT",
        _non_negative,
        "seconds to wait for a connection or to connect (PostgreSQL)",
    ),
    (
        "migrate",
        "DEPLOYDECK_MIGRATE",
        _boolean,
        "apply pending schema migrations at start; with --no-migrate, refuse to start while any are pending",
    ),
    ("demo", "DEPLOYDECK_DEMO", _boolean, "load demo data into an empty database"),
    ("rollout_seconds", "DEPLOYDECK_ROLLOUT_SECONDS", _non_negative, "how long a simulated rollout takes"),
    (
        "training_time_scale",
        "DEPLOYDECK_TRAINING_TIME_SCALE",
        _non_negative,
        "multiplies simulated training durations; 1 runs a small 3-epoch job in ~2 min, "
        "0 finishes jobs at once",
    ),
    (
        "require_token_for_reads",
        "DEPLOYDECK_REQUIRE_TOKEN_FOR_READS",
        _boolean,
        "queries need a token too (when tokens are configured)",
    ),
    (
        "allow_open_writes",
        "DEPLOYDECK_ALLOW_OPEN_WRITES",
        _boolean,
        "allow binding a non-loopback address without tokens: anyone who can reach it may write",
    ),
    ("max_depth", "DEPLOYDECK_MAX_DEPTH", _positive_int, "deepest selection a query may nest"),
    ("max_aliases", "DEPLOYDECK_MAX_ALIASES", _positive_int, "aliases one query may use"),
    ("max_tokens", "DEPLOYDECK_MAX_TOKENS", _positive_int, "lexical tokens one query may have"),
    ("max_batch", "DEPLOYDECK_MAX_BATCH", _positive_int, "operations one batched request may hold"),
    (
        "max_cost",
        "DEPLOYDECK_MAX_COST",
        _positive_int,
        "computed cost one operation may have (fields × page sizes, history windows; see README)",
    ),
    ("max_body_bytes", "DEPLOYDECK_MAX_BODY_BYTES", _positive_int, "largest request body"),
    (
        "max_persisted_queries",
        "DEPLOYDECK_MAX_PERSISTED_QUERIES",
        _positive_int,
        "persisted-query documents kept per process (least recently used dropped first)",
    ),
    (
        "request_timeout",
        "DEPLOYDECK_REQUEST_TIMEOUT",
        _positive,
        "seconds one request may run before it is stopped with TIMEOUT (also PostgreSQL's statement_timeout)",
    ),
    (
        "max_response_bytes",
        "DEPLOYDECK_MAX_RESPONSE_BYTES",
        _positive_int,
        "largest response body; a larger result is replaced by RESPONSE_TOO_LARGE",
    ),
    (
        "db_sessions_per_request",
        "DEPLOYDECK_DB_SESSIONS_PER_REQUEST",
        _positive_int,
        "database sessions one request may hold at once, so one request cannot take the whole pool",
    ),
    (
        "rate_limit_capacity",
        "DEPLOYDECK_RATE_LIMIT_CAPACITY",
        _non_negative_int,
        "cost units each client's budget holds (per token, or per address when anonymous); 0 turns "
        "budgets off",
    ),
    (
        "rate_limit_refill",
        "DEPLOYDECK_RATE_LIMIT_REFILL",
        _positive,
        "cost units each client's budget regains per second",
    ),
    ("introspection", "DEPLOYDECK_INTROSPECTION", _boolean, "allow schema introspection (GraphiQL needs it)"),
    (
        "response_cache",
        "DEPLOYDECK_RESPONSE_CACHE",
        _boolean,
        "answer a repeated query from memory while nothing was written, nothing came due and the metrics "
        "window is the same",
    ),
    (
        "response_cache_entries",
        "DEPLOYDECK_RESPONSE_CACHE_ENTRIES",
        _positive_int,
        "query results the response cache keeps per process (least recently used dropped first)",
    ),
    (
        "response_cache_bytes",
        "DEPLOYDECK_RESPONSE_CACHE_BYTES",
        _positive_int,
        "bytes of results the response cache keeps per process",
    ),
    ("log_level", "DEPLOYDECK_LOG_LEVEL", str, "debug, info, warning or error"),
    (
        "log_format",
        "DEPLOYDECK_LOG_FORMAT",
        str,
        "text, or json: one JSON object per line for every log record (uvicorn's too)",
    ),
    (
        "workers",
        "DEPLOYDECK_WORKERS",
        _workers,
        "server processes sharing the port and the database, each with its own snapshot and caches; "
        "auto: one per core",
    ),
]

_CHOICES = {"log_level": ["debug", "info", "warning", "error"], "log_format": ["text", "json"]}


def parse_settings(
    argv: Sequence[str] | None = None, env: dict[str, str] | None = None, prog: str = "python server.py"
) -> Settings:
    """Settings from flags, falling back to environment variables, then defaults; exits on bad values."""
    env = dict(os.environ) if env is None else env
    defaults = {f.name: f.default for f in fields(Settings)}
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Deploydeck: a GraphQL API to deploy ML models and monitor their inference metrics.",
    )
    for name, variable, kind, text in _OPTIONS:
        flag = "--" + name.replace("_", "-")
        # String defaults go through `type`, so a bad environment value fails like a bad flag.
        default = env.get(variable, str(defaults[name]))
        help_text = f"{text} (env {variable}; default %(default)s)"
        if kind is _boolean:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=_parse_env_bool(parser, variable, default),
                help=help_text,
            )
        elif name in _CHOICES:
            parser.add_argument(flag, choices=_CHOICES[name], default=default, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=default, help=help_text)
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        default=None,
        help="a browser origin allowed to call the API, e.g. https://dash.example.com; repeatable "
        "(env DEPLOYDECK_CORS_ORIGINS, comma-separated; default: none)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        dest="allowed_hosts",
        default=None,
        help="a Host header the server answers, e.g. deploydeck.internal; repeatable (env "
        "DEPLOYDECK_ALLOWED_HOSTS, comma-separated; default: the bound address and localhost names, "
        "or any when bound to 0.0.0.0 or ::)",
    )
    parser.add_argument(
        "--tokens-file",
        default=env.get("DEPLOYDECK_TOKENS_FILE"),
        help="file of `name=token` lines; with DEPLOYDECK_TOKENS (comma-separated `name=token` pairs) these "
        "are the API tokens; when any exist, mutations need `Authorization: Bearer <token>` "
        "(env DEPLOYDECK_TOKENS_FILE; default: none)",
    )
    args = parser.parse_args(argv)
    values = {name: getattr(args, name) for name, *_ in _OPTIONS}
    try:
        tokens = load_tokens(env.get("DEPLOYDECK_TOKENS", ""), args.tokens_file)
    except TokenConfigError as exc:
        parser.error(str(exc))
    settings = Settings(
        **values,
        cors_origins=tuple(args.cors_origins or _split(env.get("DEPLOYDECK_CORS_ORIGINS", ""))),
        allowed_hosts=tuple(args.allowed_hosts or _split(env.get("DEPLOYDECK_ALLOWED_HOSTS", ""))),
        tokens=tuple(tokens.items()),
    )
    if settings.budget.enabled and settings.rate_limit_capacity < settings.max_cost:
        parser.error(
            f"--rate-limit-capacity {settings.rate_limit_capacity} is below --max-cost {settings.max_cost}: "
            "an operation the cost limit allows could never run"
        )
    if not settings.tokens and not settings.loopback and not settings.allow_open_writes:
        parser.error(
            f"refusing to bind {settings.host} without API tokens: anyone who can reach it could pause "
            "production. Configure DEPLOYDECK_TOKENS or --tokens-file, or pass --allow-open-writes."
        )
    return settings


def _parse_env_bool(parser: argparse.ArgumentParser, variable: str, raw: str) -> bool:
    try:
        return _boolean(raw)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"{variable} {exc}")


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]
