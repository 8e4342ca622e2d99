"""Model: one model name, its versions, the traffic split between them, its aliases and its rollout."""

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

import domain
from resolvers import models as resolvers
from resolvers import rollouts
from resolvers.deployments import Deployments
from resolvers.models import ModelRecord
from schema.common import Node, values_of
from schema.connection import Connection, arguments, listing, paged
from schema.deployment import Deployment, DeploymentConnection
from schema.deployment_arguments import DEPLOYMENTS
from schema.metrics import DEFAULT_RANGE, AsOf, InferenceMetrics, MetricsSeries, Range, span_of
from schema.vocabulary import ModelSize, RolloutState, RolloutStrategy, described_enum

SplitAsOf = Annotated[
    datetime | None, strawberry.argument(description="Instant the split is for (default: now).")
]


@strawberry.type(description="One version's share of its model's traffic.")
class TrafficShare:
    deployment: Deployment = strawberry.field(description="The version.")
    percent: float = strawberry.field(description="Its share of the model's traffic, 0-100.")


@strawberry.type(
    description=(
        "A named pointer to one version, e.g. production or staging. "
        "An aliased version cannot be paused or deleted."
    )
)
class ModelAlias:
    name: str = strawberry.field(description="The alias, 1-40 characters of a-z, 0-9 and -.")
    deployment: Deployment = strawberry.field(description="The version it points at.")
    updated_at: datetime = strawberry.field(description="When it was last set.")
    updated_by: str = strawberry.field(description="Who last set it.")


@strawberry.type(
    description=(
        "A progressive rollout of one version, rolled back automatically if its health turns CRITICAL "
        "while baking."
    )
)
class Rollout:
    deployment: Deployment = strawberry.field(description="The version being rolled out.")
    strategy: RolloutStrategy = strawberry.field(description="How it takes traffic.")
    state: RolloutState = strawberry.field(description="Where it is.")
    percent: float = strawberry.field(description="The new version's current share of the model's traffic.")
    started_at: datetime = strawberry.field(description="When it started.")
    next_step_at: datetime | None = strawberry.field(
        description="When the next step or the promotion happens if health holds; null once finished."
    )
    reason: str | None = strawberry.field(description="Why it was rolled back, in words.")


@strawberry.type(
    description="One model name: its versions, the traffic split between them, its aliases and its rollout."
)
class Model(Node):
    name: str = strawberry.field(description="The model name its versions share.")
    model_size: ModelSize = strawberry.field(description="Size class of its newest version.")
    endpoint: str = strawberry.field(
        description="Stable endpoint that routes requests by the traffic split: /api/inference/<model-slug>"
    )
    _record: strawberry.Private[ModelRecord]

    @strawberry.field(description="Its versions (deployments). Default order: CREATED_AT DESC.")
    @listing(DEPLOYMENTS)
    async def deployments(self, info: strawberry.Info, args: Deployments) -> DeploymentConnection:
        conn = await resolvers.model_deployments(info.context, self._record, args)
        return DeploymentConnection.of(conn)

    @strawberry.field(
        description=(
            "Share of the model's traffic per ACTIVE version at asOf (default now); "
            "sums to 100 while any version is ACTIVE."
        )
    )
    async def traffic_split(self, info: strawberry.Info, as_of: SplitAsOf = None) -> list[TrafficShare]:
        split = await resolvers.traffic_split(info.context, self._record, as_of)
        return [TrafficShare(deployment=Deployment.from_row(row), percent=p) for row, p in split]

    @strawberry.field(description="Its aliases, by name.")
    async def aliases(self, info: strawberry.Info) -> list[ModelAlias]:
        found = await resolvers.aliases(info.context, self._record)
        return [
            ModelAlias(
                name=alias.alias,
                deployment=Deployment.from_row(row),
                updated_at=alias.updated_at,
                updated_by=alias.updated_by,
            )
            for alias, row in found
        ]

    @strawberry.field(description="The rollout in progress, or the latest one.")
    async def rollout(self, info: strawberry.Info) -> Rollout | None:
        found = await rollouts.latest(info.context, self._record.name)
        if found is None:
            return None
        row, version = found
        return Rollout(
            deployment=Deployment.from_row(version),
            strategy=RolloutStrategy(row.strategy),
            state=RolloutState(row.state),
            percent=row.percent,
            started_at=row.started_at,
            # Waiting for the version's activation: its first step is then.
            next_step_at=(row.next_step_at or version.rollout_due_at)
            if row.state == domain.RolloutState.BAKING
            else None,
            reason=row.reason,
        )

    @strawberry.field(
        description="The model's figures: all its versions together, as callers of its endpoint see them."
    )
    async def metrics(self, info: strawberry.Info, as_of: AsOf = None) -> InferenceMetrics:
        return InferenceMetrics.of(await resolvers.metrics(info.context, self._record, as_of))

    @strawberry.field(
        description="Chart-ready history of its figures, ending with the window that holds asOf."
    )
    async def metrics_history(
        self, info: strawberry.Info, range_: Range = DEFAULT_RANGE, as_of: AsOf = None
    ) -> MetricsSeries:
        return MetricsSeries.of(await resolvers.history(info.context, self._record, span_of(range_), as_of))

    @classmethod
    def of(cls, record: ModelRecord) -> "Model":
        return cls(
            id=strawberry.ID(resolvers.global_id(record)),
            name=record.name,
            model_size=ModelSize(record.model_size),
            endpoint=record.endpoint,
            _record=record,
        )


@strawberry.input(description="Models matching all given conditions.")
class ModelFilter:
    name: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the model name."
    )
    model_size: list[ModelSize] | None = strawberry.field(
        default=None, description="Any of these size classes."
    )


@described_enum("Sortable fields of models.")
class ModelOrderField(Enum):
    NAME = "Model name, by code point."
    REQUEST_VOLUME = "Requests per second of all its versions together, now."


@paged("model", "models", node_of=Model.of)
class ModelConnection(Connection[Model]):
    pass


def to_filter(flt: ModelFilter) -> resolvers.ModelFilter:
    return resolvers.model_filter(name=flt.name, model_sizes=values_of(flt.model_size))


MODELS = arguments("models", ModelFilter, ModelOrderField, to_filter)
