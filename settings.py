"""Every setting, declared once: its flag, environment variable, type, default, help and check.

Flags win over environment variables, which win over defaults. The frozen `Settings` travels as it
is to the app (server.py), the GraphQL endpoint and each request's context.
"""

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass

from db.engines import Pool
from schema.limits import Limits
from settings_fields import (
    boolean,
    declarations,
    non_negative,
    non_negative_int,
    parse_declared,
    positive,
    positive_int,
    setting,
    worker_count,
)
from web.auth import load_tokens
from web.hosts import LOCAL_NAMES, host_name
from web.ratelimit import Budget


@dataclass(frozen=True)
class Settings:
    host: str = setting(
        "127.0.0.1", "address to bind; a non-loopback address needs tokens or --allow-open-writes"
    )
    port: int = setting(8000, "port to bind", int)
    db: str = setting("deploydeck.db", "SQLite file path or database URL", env="DATABASE_URL")
    db_busy_timeout: float = setting(
        5.0,
        "seconds a write waits for another writer's lock (then retried twice, then DATABASE_BUSY)",
        non_negative,
    )
    migrate: bool = setting(
        True,
        "apply pending schema migrations at start; with --no-migrate, refuse to start while any are pending",
        boolean,
    )
    db_pool_size: int = setting(
        Pool.size, "connections kept open per process (SQLite: reading connections)", positive_int
    )
    db_pool_max_overflow: int = setting(
        Pool.max_overflow, "extra connections allowed under load, per process (SQLite: kept open too)", int
    )
    db_pool_timeout: float = setting(
        Pool.timeout, "seconds to wait for a free connection, or to connect", non_negative
    )
    demo: bool = setting(True, "load demo data into an empty database", boolean)
    rollout_seconds: float = setting(30.0, "how long a simulated rollout takes", non_negative)
    training_time_scale: float = setting(
        1.0,
        "multiplies simulated training durations; 1 runs a small 3-epoch job in ~2 min, "
        "0 finishes jobs at once",
        non_negative,
    )
    cors_origins: tuple[str, ...] = setting(
        (),
        "a browser origin allowed to call the API, e.g. https://dash.example.com",
        kind="list",
        flag="--cors-origin",
        shown_default="none",
    )
    allowed_hosts: tuple[str, ...] = setting(  # empty: the bound address and localhost names
        (),
        "a Host header the server answers, e.g. deploydeck.internal",
        kind="list",
        flag="--allowed-host",
        shown_default="the bound address and localhost names, or any when bound to 0.0.0.0 or ::",
    )
    tokens: tuple[tuple[str, str], ...] = setting(  # (name, token)
        (),
        "file of `name=token` lines; with DEPLOYDECK_TOKENS (comma-separated `name=token` pairs) these "
        "are the API tokens; when any exist, mutations need `Authorization: Bearer <token>`",
        lambda inline, file: tuple(load_tokens(inline, file).items()),
        kind="tokens",
        flag="--tokens-file",
        file_env="DEPLOYDECK_TOKENS_FILE",
        shown_default="none",
    )
    require_token_for_reads: bool = setting(
        False, "queries need a token too (when tokens are configured)", boolean
    )
    allow_open_writes: bool = setting(
        False,
        "allow binding a non-loopback address without tokens: anyone who can reach it may write",
        boolean,
    )
    max_depth: int = setting(Limits.max_depth, "deepest selection a query may nest", positive_int)
    max_aliases: int = setting(Limits.max_aliases, "aliases one query may use", positive_int)
    max_tokens: int = setting(Limits.max_tokens, "lexical tokens one query may have", positive_int)
    max_batch: int = setting(Limits.max_batch, "operations one batched request may hold", positive_int)
    max_cost: int = setting(
        Limits.max_cost,
        "computed cost one operation may have (fields × page sizes, history windows; see README)",
        positive_int,
    )
    max_body_bytes: int = setting(256 * 1024, "largest request body", positive_int)
    max_persisted_queries: int = setting(
        1000, "persisted-query documents kept per process (least recently used dropped first)", positive_int
    )
    request_timeout: float = setting(
        5.0,
        "seconds one request may run before it is stopped with TIMEOUT (also PostgreSQL's statement_timeout)",
        positive,
    )
    max_response_bytes: int = setting(
        8 * 1024 * 1024,
        "largest response body; a larger result is replaced by RESPONSE_TOO_LARGE",
        positive_int,
    )
    db_sessions_per_request: int = setting(
        4,
        "database sessions one request may hold at once, so one request cannot take the whole pool",
        positive_int,
    )
    rate_limit_capacity: int = setting(
        Budget.capacity,
        "cost units each client's budget holds (per token, or per address when anonymous); 0 turns "
        "budgets off",
        non_negative_int,
    )
    rate_limit_refill: float = setting(
        Budget.refill_per_second, "cost units each client's budget regains per second", positive
    )
    introspection: bool = setting(True, "allow schema introspection (GraphiQL needs it)", boolean)
    response_cache: bool = setting(
        True,
        "answer a repeated query from memory while nothing was written, nothing came due and the metrics "
        "window is the same",
        boolean,
    )
    response_cache_entries: int = setting(
        1000,
        "query results the response cache keeps per process (least recently used dropped first)",
        positive_int,
    )
    response_cache_bytes: int = setting(
        64 * 1024 * 1024, "bytes of results the response cache keeps per process", positive_int
    )
    log_level: str = setting(
        "info", "debug, info, warning or error", choices=("debug", "info", "warning", "error")
    )
    log_format: str = setting(
        "text",
        "text, or json: one JSON object per line for every log record (uvicorn's too)",
        choices=("text", "json"),
    )
    workers: int = setting(  # `auto` parses to os.cpu_count()
        1,
        "server processes sharing the port and the database, each with its own snapshot and caches; "
        "auto: one per core",
        worker_count,
    )

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
    def token_names(self) -> dict[str, str]:
        """name -> token; empty: writes are open."""
        return dict(self.tokens)

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

    def problems(self) -> list[str]:
        """What makes these settings unusable together (each setting alone was checked as it was read)."""
        found = []
        if self.budget.enabled and self.rate_limit_capacity < self.max_cost:
            found.append(
                f"--rate-limit-capacity {self.rate_limit_capacity} is below --max-cost {self.max_cost}: "
                "an operation the cost limit allows could never run"
            )
        if not self.tokens and not self.loopback and not self.allow_open_writes:
            found.append(
                f"refusing to bind {self.host} without API tokens: anyone who can reach it could pause "
                "production. Configure DEPLOYDECK_TOKENS or --tokens-file, or pass --allow-open-writes."
            )
        return found


SETTINGS = tuple(declarations(Settings))  # each setting's declaration, in the order of --help


def parse_settings(
    argv: Sequence[str] | None = None, env: dict[str, str] | None = None, prog: str = "python server.py"
) -> Settings:
    """Settings from flags, falling back to environment variables, then defaults; exits on bad values."""
    return parse_declared(
        Settings,
        argv,
        dict(os.environ) if env is None else env,
        prog=prog,
        description="Deploydeck: a GraphQL API to deploy ML models and monitor their inference metrics.",
    )
