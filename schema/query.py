"""The Query root."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import strawberry

from resolvers import catalog
from resolvers import deployments as deployment_resolvers
from resolvers import models as model_resolvers
from resolvers import nodes as node_resolvers
from resolvers import training_jobs as job_resolvers
from resolvers.context import Context
from resolvers.deployments import Deployments
from resolvers.models import Models
from resolvers.training_jobs import TrainingJobs
from schema.common import BaseModel, GlobalId, Node
from schema.connection import listing
from schema.deployment import Deployment, DeploymentConnection
from schema.deployment_arguments import DEPLOYMENTS
from schema.metrics import DeploymentStats
from schema.model import MODELS, Model, ModelConnection
from schema.permissions import GUARDED
from schema.training_job import TRAINING_JOBS, TrainingJob, TrainingJobConnection
from schema.vocabulary import ModelSize

N = TypeVar("N")
R = TypeVar("R")


def _node_of(found: tuple[str, object] | None) -> Node | None:
    if found is None:
        return None
    type_name, row = found
    if type_name == model_resolvers.TYPE_NAME:
        return Model.of(row)  # type: ignore[arg-type]
    return Deployment.from_row(row) if type_name == "Deployment" else TrainingJob.from_row(row)  # type: ignore[arg-type]


def _by_id(
    what: str, node: type[N], get: Callable[[Context, str], Awaitable[R | None]], of: Callable[[R], N]
) -> Any:
    """A guarded root field: the `node` made by `of` from the row `get` finds by global ID, else null."""

    async def resolve(info: strawberry.Info, id: GlobalId) -> node | None:  # type: ignore[valid-type]
        row = await get(info.context, id)
        return None if row is None else of(row)

    return strawberry.field(
        resolver=resolve,
        permission_classes=GUARDED,
        description=f"A {what} by global ID; null when it does not exist.",
    )


_METRICS_AS_OF = Annotated[
    datetime | None, strawberry.argument(description="Instant the metrics are for; default: now.")
]
_STATS_AS_OF = Annotated[
    datetime | None,
    strawberry.argument(
        description=(
            "Instant the figures are for; default: now. A past instant counts the fleet as it was then:"
            " the deployments created by then, by their statusAt then (deployments deleted since are"
            " not counted, as deployments does not list them)."
        )
    ),
]


@strawberry.type(description="Read the training jobs, deployments and their statistics.")
class Query:
    @strawberry.field(
        permission_classes=GUARDED, description="Any object by its global ID; null when it does not exist."
    )
    async def node(self, info: strawberry.Info, id: GlobalId) -> Node | None:
        return _node_of(await node_resolvers.load_node(info.context, id))

    @strawberry.field(
        permission_classes=GUARDED,
        description="Objects by global ID, in the same order; null where one does not exist.",
    )
    async def nodes(
        self,
        info: strawberry.Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Up to 100 global IDs.")],
    ) -> list[Node | None]:
        return [_node_of(found) for found in await node_resolvers.load_nodes(info.context, ids)]

    @strawberry.field(
        permission_classes=GUARDED, description="The catalog of base models a training job can fine-tune."
    )
    def base_models(self) -> list[BaseModel]:
        return [
            BaseModel(name=m.name, parameter_count=m.parameter_count, model_size=ModelSize(m.model_size))
            for m in catalog.base_models()
        ]

    training_job = _by_id("training job", TrainingJob, job_resolvers.get_job, TrainingJob.from_row)

    @strawberry.field(
        permission_classes=GUARDED, description="Training jobs. Default order: CREATED_AT DESC."
    )
    @listing(TRAINING_JOBS)
    async def training_jobs(self, info: strawberry.Info, args: TrainingJobs) -> TrainingJobConnection:
        conn = await job_resolvers.list_jobs(info.context, args)
        return TrainingJobConnection.of(conn)

    deployment = _by_id("deployment", Deployment, deployment_resolvers.get_deployment, Deployment.from_row)

    @strawberry.field(
        permission_classes=GUARDED,
        description="Default order: CREATED_AT DESC. asOf pins the metrics used to sort, filter and show.",
    )
    @listing(DEPLOYMENTS, as_of=_METRICS_AS_OF)
    async def deployments(
        self, info: strawberry.Info, args: Deployments, as_of: datetime | None = None
    ) -> DeploymentConnection:
        conn = await deployment_resolvers.list_deployments(info.context, args, as_of)
        return DeploymentConnection.of(conn)

    @strawberry.field(
        permission_classes=GUARDED, description="Fleet-wide figures for the dashboard's summary cards."
    )
    async def deployment_stats(self, info: strawberry.Info, as_of: _STATS_AS_OF = None) -> DeploymentStats:
        return DeploymentStats.of(await deployment_resolvers.fleet_stats(info.context, as_of))

    @strawberry.field(
        permission_classes=GUARDED, description="A model by its exact name; null when it has no live version."
    )
    async def model(
        self,
        info: strawberry.Info,
        name: Annotated[str, strawberry.argument(description="The model name, exactly.")],
    ) -> Model | None:
        record = await model_resolvers.get_model(info.context, name)
        return None if record is None else Model.of(record)

    @strawberry.field(permission_classes=GUARDED, description="Default order: NAME ASC.")
    @listing(MODELS)
    async def models(self, info: strawberry.Info, args: Models) -> ModelConnection:
        conn = await model_resolvers.list_models(info.context, args)
        return ModelConnection.of(conn)

    @strawberry.field(permission_classes=GUARDED, description="The server's clock for this request (UTC).")
    def server_time(self, info: strawberry.Info) -> datetime:
        return info.context.exact_now()  # type: ignore[no-any-return]
