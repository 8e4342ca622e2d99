"""GET /metrics: Prometheus text format (prometheus_client), beside /healthz and /readyz.

Request counts and latencies are recorded by RequestIdMiddleware as each response ends. The
process's own tallies (response cache hits, snapshot reloads, settled transitions: plain ints
on the objects that count them) are mirrored into counters by the delta since the last look,
at the end of every request and at every scrape, and the database pool's use is set as a
gauge then too. Mirroring, rather than a custom Collector reading them at scrape time, is what
lets prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `--workers` > 1)
sum them over every worker: a scrape reaches one worker, which can only read its own objects,
while counters and gauges written to the shared directory are read by whichever answers.
"""

import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain import Code
from web.auth import identify

if TYPE_CHECKING:  # the app is handed in; importing it here would only be for the annotation
    from web.graphql_app import GraphQLApp

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS = 100  # distinct operation labels per process; later names count as "other"
# Paths with a label of their own; anything else (GraphiQL's files, 404s) is "other".
PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "deploydeck_http_requests",
    "HTTP requests answered, by path, GraphQL operation name (as the document defines it) and status",
    ["path", "operation", "status"],
)
DURATION = Histogram(
    "deploydeck_http_request_duration_seconds",
    "Time from request to the end of the response, by path and GraphQL operation name",
    ["path", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE = {
    kind: Counter(f"deploydeck_response_cache_{kind}", f"Response cache {kind}")
    for kind in ("hits", "misses", "evictions")
}
RELOADS = Counter(
    "deploydeck_fleet_snapshot_reloads", "Fleet snapshot refreshes after a write (the first load included)"
)
SETTLED = Counter(
    "deploydeck_settled_transitions", "Time-driven transitions written (rollouts finished, training steps)"
)
# livesum/liveall: in multiprocess mode, summed over (or listed per pid for) the workers alive now.
POOL_CHECKED_OUT = Gauge(
    "deploydeck_db_pool_checked_out",
    "Database connections in use (as of each worker's last response or scrape)",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "deploydeck_db_pool_size", "Database connections the pools keep open", multiprocess_mode="livesum"
)
WORKER_REQUESTS = Gauge(
    "deploydeck_worker_requests",
    "Requests this worker answered; with --workers > 1, one series per live worker, labelled pid",
    multiprocess_mode="liveall",
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Metrics:
    """One app's view: bounded operation labels, and the last-seen values of the tallies it mirrors."""

    def __init__(self, graphql: "GraphQLApp") -> None:
        self.graphql = graphql
        self._operations: set[str] = set()
        self._seen: dict[str, int] = {}

    def operation_label(self, operation: str) -> str:
        if operation in self._operations:
            return operation
        if len(self._operations) >= MAX_OPERATIONS:
            return "other"
        self._operations.add(operation)
        return operation

    def request_done(self, path: str, operation: str | None, status: int, seconds: float) -> None:
        path = path if path in PATHS else "other"
        label = self.operation_label(operation) if operation else "-"
        REQUESTS.labels(path, label, str(status)).inc()
        DURATION.labels(path, label).observe(seconds)
        WORKER_REQUESTS.inc()
        self.sync()

    def sync(self) -> None:
        """Mirror the process's tallies into the metrics; cheap (a few attribute reads)."""
        cache = getattr(self.graphql, "response_cache", None)  # None when off, or before that feature
        for kind, counter in CACHE.items():
            self._mirror(f"cache_{kind}", counter, getattr(cache, kind, 0) if cache is not None else 0)
        self._mirror("reloads", RELOADS, self.graphql.fleet_cache.reloads)
        self._mirror("settled", SETTLED, self.graphql.settler.settled)
        db = self.graphql.db
        if db is not None:
            checked_out, size = db.pool_use()
            POOL_CHECKED_OUT.set(checked_out)
            POOL_SIZE.set(size)

    def _mirror(self, key: str, counter: Counter, value: int) -> None:
        delta = value - self._seen.get(key, 0)
        if delta > 0:
            counter.inc(delta)
        self._seen[key] = max(value, self._seen.get(key, 0))

    def stopped(self) -> None:
        """At worker exit: drop this process's live gauges from the multiprocess sums."""
        if multiprocess_mode():
            multiprocess.mark_process_dead(os.getpid())


def routes(metrics: Metrics) -> list[Route]:
    async def scrape(request: Request) -> Response:
        graphql = metrics.graphql
        if graphql.tokens and graphql.settings.require_token_for_reads:
            # Operation names and traffic are what reads are: with reads closed, so is this.
            who = identify(request.headers.get("authorization"), graphql.tokens)
            if who.actor is None:
                return JSONResponse(
                    {"error": Code.UNAUTHENTICATED, "message": "a bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        metrics.sync()
        if multiprocess_mode():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # every worker's files, summed
            body = generate_latest(registry)
        else:
            body = generate_latest(REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)  # what every Prometheus scrapes

    return [Route("/metrics", scrape, methods=["GET"])]
