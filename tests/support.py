"""Test helpers: a controllable clock, a GraphQL client over the ASGI app, row factories."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from starlette.applications import Starlette

from db.deployments import bump_revision
from db.engine import Database
from db.models import Deployment, DeploymentEvent, TrainingJob
from domain import ACTIVATE, DEPLOY, FAIL_ROLLOUT, PAUSE, Move
from resolvers import ids
from server import create_app
from settings import Settings
from simulator import rollout_fails, training_schedule
from tests.databases import database_for

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday noon


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    """A GraphQL client over the ASGI app, plus direct database access for arranging data."""

    http: httpx.AsyncClient
    db: Database
    clock: Clock
    headers: dict[str, str] = field(default_factory=dict)
    app: Starlette | None = None  # the ASGI app the client talks to, for tests that swap its parts

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The whole response body."""
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers, **kwargs
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data` of a response that must have no errors."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single GraphQL error a query must produce."""
        body = await self.post(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]  # type: ignore[no-any-return]


ROOT = Path(__file__).resolve().parent.parent


# The simulator decides outcomes by a hash of the id, and ids in a test's fresh database are the same
# on every run: a test that needs a rollout or a run to succeed says so with these, and fails (never
# skips) if a change to the simulator made its id one of the few that fail.
def rollout_succeeds(deployment_id: str) -> bool:
    """Whether the simulator brings this deployment (a global ID) up."""
    return not bool(rollout_fails(np.array([ids.decode(deployment_id, "Deployment")]))[0])


def training_succeeds(job_id: str) -> bool:
    """Whether the simulator runs this training job (a global ID) to the end."""
    row_id = ids.decode(job_id, "TrainingJob")
    return not bool(training_schedule(np.array([row_id]), np.array([0]), np.array([1]), 1.0).fails[0])


@asynccontextmanager
async def running_api(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> AsyncIterator[Api]:
    clock = clock or Clock()
    options: dict[str, Any] = {"db": await database_for(tmp_path), "demo": False, "rollout_seconds": 0}
    options.update(settings)
    app = create_app(Settings(**options), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            db = app.state.db
            yield Api(http=http, db=db, clock=clock, app=app)


_counter = iter(range(1, 10**9))


def complete_job(**values: Any) -> dict[str, Any]:
    """The columns of a COMPLETE training job, `values` over the defaults (tests and benches seed these)."""
    defaults: dict[str, Any] = dict(
        base_model="LFM2-350M",
        parameter_count=354e6,
        model_size="NANO",
        dataset="tickets",
        learning_rate=2e-4,
        epochs=3,
        batch_size=16,
        lora_rank=16,
        status="COMPLETE",
        progress=1.0,
        final_loss=0.5,
    )
    return defaults | values


def deployment_row(
    id: int, job_id: int, model_name: str, minor: int, created: datetime, **values: Any
) -> dict[str, Any]:
    """The columns of version 1.<minor>.0 of a model, created at `created` and ACTIVE 30 s later,
    `values` over these (tests and benches seed these)."""
    defaults: dict[str, Any] = dict(
        id=id,
        training_job_id=job_id,
        model_name=model_name,
        version_major=1,
        version_minor=minor,
        version_patch=0,
        status="ACTIVE",
        endpoint=f"/api/inference/{model_name}/v1.{minor}.0",
        deployed_by="seed",
        model_size="SMALL",
        created_at=created,
        updated_at=created,
        activated_at=created + timedelta(seconds=30),
        revision=1,
    )
    return defaults | values


def make_job(session: Any, **overrides: Any) -> TrainingJob:
    values = complete_job(
        model_name=f"model-{next(_counter)}",
        created_at=T0 - timedelta(days=3),
        started_at=T0 - timedelta(days=3),
        completed_at=T0 - timedelta(days=2),
    )
    values.update(overrides)
    job = TrainingJob(**values)
    session.add(job)
    return job


async def make_deployment(session: Any, job: TrainingJob, **overrides: Any) -> Deployment:
    """A deployment of `job` with a matching audit trail (CREATED, then ACTIVATED when ACTIVE)."""
    await session.flush()
    created = overrides.pop("created_at", T0 - timedelta(days=1))
    minor = overrides.pop("minor", 0)
    values: dict[str, Any] = dict(
        training_job_id=job.id,
        model_name=job.model_name,
        version_major=1,
        version_minor=minor,
        version_patch=0,
        status="ACTIVE",
        endpoint=f"/api/inference/{job.model_name}/v1.{minor}.0",
        deployed_by="tester",
        model_size=job.model_size,
        created_at=created,
        updated_at=created,
    )
    if overrides.get("status", "ACTIVE") in ("ACTIVE", "PAUSED"):
        values["activated_at"] = created + timedelta(seconds=30)
    values.update(overrides)
    # Written like any other writer would: the fleet revision tells caches to reload.
    values["revision"] = await bump_revision(session)
    dep = Deployment(**values)
    session.add(dep)
    await session.flush()
    for move, at, actor in _trail(dep.status, created):
        session.add(DeploymentEvent.of_move(move, deployment_id=dep.id, actor=actor, at=at))
    await session.flush()
    return dep


def _trail(status: str, created: datetime) -> list[tuple[Move, datetime, str]]:
    """The moves that left a deployment created at `created` in `status`, with when and by whom."""
    trail = [(DEPLOY, created, "tester")]
    if status != DEPLOY.target:
        rollout = FAIL_ROLLOUT if status == FAIL_ROLLOUT.target else ACTIVATE
        trail.append((rollout, created + timedelta(seconds=30), "system"))
    if status == PAUSE.target:
        trail.append((PAUSE, created + timedelta(hours=1), "tester"))
    return trail
