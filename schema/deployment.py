"""Deployment, its audit trail, and its connection, filter and order."""

from datetime import datetime
from typing import Annotated

import strawberry

from db.deployments import DeploymentView
from db.models import Deployment as DeploymentRow
from db.models import DeploymentEvent as EventRow
from resolvers import deployments as resolvers
from resolvers import ids
from resolvers import models as model_resolvers
from resolvers import traffic as traffic_resolvers
from resolvers import training_jobs as job_resolvers
from resolvers.metrics import PageFigures
from resolvers.pagination import Connection as Rows
from schema.common import Node, copied
from schema.connection import Connection, paged
from schema.leaves import quick
from schema.metrics import DEFAULT_RANGE, AsOf, InferenceMetrics, MetricsSeries, Range, span_of
from schema.vocabulary import DeploymentEventKind, DeploymentHealth, DeploymentStatus, ModelSize

# The two types above this module, by name: they import it (their `deployments`), it never imports them.
_TRAINING_JOB: strawberry.LazyType[str, str] = strawberry.LazyType("TrainingJob", "schema.training_job")
_MODEL: strawberry.LazyType[str, str] = strawberry.LazyType("Model", "schema.model")
ShareAsOf = Annotated[
    datetime | None, strawberry.argument(description="Instant the share is for (default: now).")
]


@strawberry.type(description="One entry of a deployment's audit trail.")
class DeploymentEvent:
    kind: DeploymentEventKind = strawberry.field(description="What happened.")
    from_status: DeploymentStatus | None = strawberry.field(description="Status before; null on creation.")
    to_status: DeploymentStatus | None = strawberry.field(description="Status after; null on deletion.")
    actor: str = strawberry.field(description="Who did it: a token name, or `system` for rollouts.")
    message: str | None = strawberry.field(description="Details, e.g. a failure cause.")
    at: datetime = strawberry.field(description="When it happened.")

    @classmethod
    def from_row(cls, row: EventRow) -> "DeploymentEvent":
        return copied(
            cls,
            row,
            kind=DeploymentEventKind(row.kind),
            from_status=DeploymentStatus(row.from_status) if row.from_status else None,
            to_status=DeploymentStatus(row.to_status) if row.to_status else None,
        )


@strawberry.type(description="A version of a model serving (or about to serve) inference requests.")
class Deployment(Node):
    database_id: int = strawberry.field(description="Row id in the database.")
    model_name: str = strawberry.field(description="Name of the deployed model.")
    version: str = strawberry.field(
        description="Semantic version, unique per modelName and never reused: v1.0.0, v1.1.0, ..."
    )
    status: DeploymentStatus = strawberry.field(description="Where the deployment is in its lifecycle.")
    status_reason: str | None = strawberry.field(
        description="Why the deployment is in its status, e.g. the failure cause."
    )
    endpoint: str = strawberry.field(description="Path of its inference endpoint.")
    deployed_by: str = strawberry.field(description="Who deployed it.")
    created_at: datetime = strawberry.field(description="When deployJob created it.")
    updated_at: datetime = strawberry.field(description="When its status last changed.")
    model_size: ModelSize = strawberry.field(description="Size class of the model.")
    _training_job_id: strawberry.Private[int]
    _row: strawberry.Private[DeploymentRow | DeploymentView]
    _as_of: strawberry.Private[datetime | None]  # the instant its connection was sorted at
    _page: strawberry.Private[PageFigures | None] = None  # its listing's figures, when it made them

    @strawberry.field(
        description="Figures for the window holding asOf (default: the request's clock).",
        metadata=quick("page_metrics"),
    )
    def metrics(self, info: strawberry.Info, as_of: AsOf = None) -> InferenceMetrics:
        # Synchronous from the page's one pass (no task per node); else an awaitable through the loader.
        record = resolvers.page_metrics(self._page, self.database_id, as_of)
        if record is not None:
            return InferenceMetrics.of(record)
        return self._loaded_metrics(info, as_of)  # type: ignore[return-value]

    def page_metrics(self) -> InferenceMetrics | None:
        """`metrics` with no arguments, read the short way (schema/leaves.py) when its page made it."""
        record = resolvers.page_metrics(self._page, self.database_id, None)
        return None if record is None else InferenceMetrics.of(record)

    async def _loaded_metrics(self, info: strawberry.Info, as_of: datetime | None) -> InferenceMetrics:
        return InferenceMetrics.of(
            await resolvers.metrics(info.context, self.database_id, self._as_of, as_of)
        )

    @strawberry.field(description="Chart-ready history ending with the window that holds asOf.")
    async def metrics_history(
        self, info: strawberry.Info, range_: Range = DEFAULT_RANGE, as_of: AsOf = None
    ) -> MetricsSeries:
        span = span_of(range_)
        return MetricsSeries.of(
            await resolvers.history(info.context, self.database_id, span, self._as_of, as_of)
        )

    @strawberry.field(description="Health at asOf, by the thresholds in the README.")
    async def health(self, info: strawberry.Info, as_of: AsOf = None) -> DeploymentHealth:
        found = await resolvers.health(info.context, self.database_id, self._as_of, as_of)
        return DeploymentHealth(found.health)

    @strawberry.field(description="Human-readable reasons behind health, empty when HEALTHY.")
    async def health_reasons(self, info: strawberry.Info, as_of: AsOf = None) -> list[str]:
        reasons = (await resolvers.health(info.context, self.database_id, self._as_of, as_of)).reasons
        at = resolvers.instant(info.context, self._as_of, as_of)
        return await traffic_resolvers.health_reasons(info.context, self._row, at, reasons)

    @strawberry.field(
        description="Share of its model's traffic this version receives, 0-100, at asOf (default now)."
    )
    async def traffic_percent(self, info: strawberry.Info, as_of: ShareAsOf = None) -> float:
        return await traffic_resolvers.traffic_percent(info.context, self._row, as_of)

    @strawberry.field(
        description=(
            "Status at asOf, rebuilt from the audit trail; null when the deployment did not exist yet."
        )
    )
    async def status_at(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime, strawberry.argument(description="Instant the status is for.")],
    ) -> DeploymentStatus | None:
        found = await traffic_resolvers.status_at_instant(info.context, self._row, as_of)
        return None if found is None else DeploymentStatus(found)

    @strawberry.field(
        description="The training job this deployment was built from.", graphql_type=_TRAINING_JOB
    )
    async def training_job(self, info: strawberry.Info) -> Node:
        job_type = _TRAINING_JOB.resolve_type()
        return job_type.from_row(await job_resolvers.job_of(info.context, self._training_job_id))  # type: ignore[no-any-return]

    @strawberry.field(description="The model this deployment is a version of.", graphql_type=_MODEL)
    async def model(self, info: strawberry.Info) -> Node:
        model_type = _MODEL.resolve_type()
        return model_type.of(await model_resolvers.model_of(info.context, self._row))  # type: ignore[no-any-return]

    @strawberry.field(description="Names of the model aliases that point at this version (e.g. production).")
    async def aliases(self, info: strawberry.Info) -> list[str]:
        return await info.context.loaders.aliases.load(self.database_id)  # type: ignore[no-any-return]

    @strawberry.field(description="Audit trail, oldest first.")
    async def events(self, info: strawberry.Info) -> list[DeploymentEvent]:
        rows = await resolvers.events(info.context, self.database_id)
        return [DeploymentEvent.from_row(row) for row in rows]

    @classmethod
    def from_row(
        cls,
        row: DeploymentRow | DeploymentView,
        as_of: datetime | None = None,
        page: PageFigures | None = None,
    ) -> "Deployment":
        return copied(
            cls,
            row,
            id=strawberry.ID(ids.encode(resolvers.TYPE_NAME, row.id)),
            database_id=row.id,
            status=DeploymentStatus(row.status),
            model_size=ModelSize(row.model_size),
            _training_job_id=row.training_job_id,
            _row=row,
            _as_of=as_of,
            _page=page,
        )


@paged("deployment", "deployments")
class DeploymentConnection(Connection[Deployment]):
    @classmethod
    def of(cls, conn: Rows[DeploymentView]) -> "DeploymentConnection":
        return cls.page(conn, [Deployment.from_row(row, conn.as_of, conn.figures) for row in conn.rows])
