"""The HTTP floor: a raw Starlette handler serving bench_http.py's dashboard page, no GraphQL.

    DATABASE_URL=... uvicorn bench.http_floor:app

Honest, not a constant: every request parses its JSON body, runs one SQL query through
SQLAlchemy core for the page's 50 rows (newest first, live rows only), computes the 5 metrics
of those rows with the simulator in one vectorised pass over the fleet snapshot (loaded once
at start-up, as Deploydeck does), and encodes the same JSON shape with orjson. `totalCount`
comes from the snapshot, as in Deploydeck.
"""

import base64
import math
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import Database
from db.models import Deployment
from resolvers.snapshot import FleetCache
from simulator import WINDOW_SECONDS, compute_metrics

_T = Deployment.__table__.c
PAGE = (
    select(
        _T.id,
        _T.model_name,
        _T.version_major,
        _T.version_minor,
        _T.version_patch,
        _T.status,
        _T.endpoint,
        _T.deployed_by,
        _T.model_size,
        _T.created_at,
        _T.updated_at,
    )
    .where(_T.deleted_at.is_(None))
    .order_by(_T.created_at.desc(), _T.id.desc())
    .limit(50)
)
state: dict = {}


def _num(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


async def page(request: Request) -> Response:
    orjson.loads(await request.body())  # the client's document is read, never run
    db: Database = state["db"]
    snap = state["snapshot"]
    async with db.read() as session:
        rows = (await session.execute(PAGE)).all()
    ids = np.array([r.id for r in rows], dtype=np.int64)
    window = math.floor(datetime.now(UTC).timestamp() / WINDOW_SECONDS)
    m = compute_metrics(snap.fleet, snap.positions(ids), np.int64(window))
    nodes = [
        {
            "id": base64.b64encode(f"Deployment:{r.id}".encode()).decode(),
            "modelName": r.model_name,
            "version": f"v{r.version_major}.{r.version_minor}.{r.version_patch}",
            "status": r.status,
            "endpoint": r.endpoint,
            "deployedBy": r.deployed_by,
            "modelSize": r.model_size,
            "createdAt": _iso(r.created_at),
            "updatedAt": _iso(r.updated_at),
            "metrics": {
                "requestVolume": float(m.request_volume[k]),
                "p50Latency": _num(m.p50[k]),
                "p95Latency": _num(m.p95[k]),
                "p99Latency": _num(m.p99[k]),
                "errorRate": _num(m.error_rate[k]),
            },
        }
        for k, r in enumerate(rows)
    ]
    body = {"data": {"deployments": {"totalCount": snap.n, "nodes": nodes}}}
    return Response(orjson.dumps(body), media_type="application/json")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    db = Database(os.environ["DATABASE_URL"])
    state["db"] = db
    state["snapshot"] = await FleetCache().current(db)
    try:
        yield
    finally:
        await db.dispose()


app = Starlette(routes=[Route("/graphql", page, methods=["POST"])], lifespan=lifespan)
