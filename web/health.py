"""Probes for load balancers: /healthz (the process answers) and /readyz (the database answers).

/readyz is 200 `ready`; 200 `degraded` while the database answers reads but refuses writes
(read-only: probed each time; full: what the last write met): every replica shares that
database, so taking them out of rotation would turn a write outage into a full one; 503
`unavailable` when the database cannot be read or does not answer within READY_TIMEOUT (a
hung server, not only a down one).
"""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.engine import Database

READY_TIMEOUT = 2.0  # seconds; below the usual load-balancer probe timeout of 5 s


async def _probe(db: Database) -> None:
    await db.ping()
    await db.probe_writes()  # a read-only database shows as degraded before any write fails


def _collect(task: "asyncio.Future[None]") -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a late failure of an abandoned probe is expected


def routes() -> list[Route]:
    abandoned: dict[Database, asyncio.Future[None]] = {}  # the last probe that did not answer in time

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        db: Database | None = getattr(request.app.state, "db", None)
        if db is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        hung = {"status": "unavailable", "reason": f"no answer within {READY_TIMEOUT:g} s"}
        stuck = abandoned.get(db)
        if stuck is not None and not stuck.done():
            return JSONResponse(hung, status_code=503)  # the last probe still hangs: no pile of them
        probe = asyncio.ensure_future(_probe(db))
        # Not wait_for: it awaits the cancelled probe, and closing a connection to a hung server
        # can hang as well. The probe is cancelled and left to finish on its own.
        done, _ = await asyncio.wait({probe}, timeout=READY_TIMEOUT)
        if not done:
            probe.cancel()
            probe.add_done_callback(_collect)
            abandoned.clear()
            abandoned[db] = probe
            return JSONResponse(hung, status_code=503)
        if probe.exception() is not None:  # any failure means not ready; say which
            reason = type(probe.exception()).__name__
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        fault = db.write_fault
        if fault is not None:
            # Reads are served; writes fail with DATABASE_READ_ONLY / DATABASE_FULL until one commits.
            return JSONResponse(
                {
                    "status": "degraded",
                    "reason": fault.reason,
                    "writes": "refused",
                    "since": fault.since.isoformat(),
                }
            )
        return JSONResponse({"status": "ready"})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
