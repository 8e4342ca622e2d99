"""TrainingJob and its connection, filter and order."""

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

import domain
from db.models import TrainingJob as TrainingJobRow
from db.training_jobs import TrainingJobFilter as JobFilterSpec
from resolvers import deployments as deployment_resolvers
from resolvers import ids, training_progress
from resolvers import training_jobs as resolvers
from resolvers.deployments import Deployments
from schema.common import Node, copied, values_of
from schema.connection import Connection, arguments, listing, paged
from schema.deployment import DeploymentConnection
from schema.deployment_arguments import DEPLOYMENTS
from schema.vocabulary import ModelSize, TrainingJobStatus, described_enum


@strawberry.type(description="Fine-tuning settings of a training job.")
class Hyperparameters:
    learning_rate: float = strawberry.field(description="Optimizer learning rate.")
    epochs: int = strawberry.field(description="Passes over the dataset.")
    batch_size: int = strawberry.field(description="Examples per optimizer step.")
    lora_rank: int | None = strawberry.field(description="LoRA adapter rank; null for full fine-tuning.")


@strawberry.type(description="One point of a training loss curve.")
class LossPoint:
    progress: float = strawberry.field(description="Fraction of the run done, 0 to 1.")
    epoch: float = strawberry.field(description="Epochs done (progress × epochs).")
    loss: float = strawberry.field(description="Training loss at that point.")


@strawberry.type(description="A fine-tuning run of a base model on a dataset.")
class TrainingJob(Node):
    database_id: int = strawberry.field(description="Row id in the database.")
    model_name: str = strawberry.field(
        description="Name of the model this job produces; deployments inherit it."
    )
    base_model: str = strawberry.field(description="Name of the base model fine-tuned.")
    parameter_count: float = strawberry.field(description="Parameters of the base model.")
    model_size: ModelSize = strawberry.field(description="Size class of the base model.")
    dataset: str = strawberry.field(description="Dataset trained on.")
    hyperparameters: Hyperparameters = strawberry.field(description="Fine-tuning settings.")
    status: TrainingJobStatus = strawberry.field(description="Where the job is in its lifecycle.")
    status_reason: str | None = strawberry.field(description="Why the job failed, when it did.")
    final_loss: float | None = strawberry.field(description="Training loss at the end; null until COMPLETE.")
    created_at: datetime = strawberry.field(description="When the job was submitted.")
    started_at: datetime | None = strawberry.field(description="When training started.")
    completed_at: datetime | None = strawberry.field(
        description="When the job finished, failed or was cancelled."
    )
    deployable: bool = strawberry.field(description="True when the job is COMPLETE and may be deployed.")

    @strawberry.field(description="Deployments of this job's model built from this job.")
    @listing(DEPLOYMENTS)
    async def deployments(self, info: strawberry.Info, args: Deployments) -> DeploymentConnection:
        conn = await deployment_resolvers.job_deployments(info.context, self.database_id, args)
        return DeploymentConnection.of(conn)

    _row: strawberry.Private[TrainingJobRow]

    @strawberry.field(description="Fraction done, 0 to 1.")
    def progress(self, info: strawberry.Info) -> float:
        return training_progress.progress(self._row, self._now(info))

    @strawberry.field(
        description="Training loss from the start to the job's progress, evenly spaced; empty while QUEUED. "
        "For a COMPLETE job the last point is finalLoss."
    )
    def loss_history(
        self,
        info: strawberry.Info,
        points: Annotated[
            int | None, strawberry.argument(description="Number of points, 2 to 500 (default 50).")
        ] = 50,
    ) -> list[LossPoint]:
        return [
            LossPoint(progress=p.progress, epoch=p.epoch, loss=p.loss)
            for p in training_progress.loss_history(
                self._row, self._now(info), training_progress.loss_points(points)
            )
        ]

    def _now(self, info: strawberry.Info) -> datetime:
        """The instant; a running job's progress moves with it (so the response cache keeps neither)."""
        now: datetime = (
            info.context.exact_now() if training_progress.progressing(self._row) else info.context.now
        )
        return now

    @classmethod
    def from_row(cls, row: TrainingJobRow) -> "TrainingJob":
        return copied(
            cls,
            row,
            id=strawberry.ID(ids.encode(resolvers.TYPE_NAME, row.id)),
            database_id=row.id,
            model_size=ModelSize(row.model_size),
            hyperparameters=copied(Hyperparameters, row),
            status=TrainingJobStatus(row.status),
            deployable=training_progress.deployable(row),
            _row=row,
        )


@strawberry.input(description="Training jobs matching all given conditions.")
class TrainingJobFilter:
    status: list[TrainingJobStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    model_name: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of modelName."
    )
    deployable: bool | None = strawberry.field(
        default=None, description="Only jobs that are (or are not) deployable."
    )


@described_enum("Sortable fields of training jobs.")
class TrainingJobOrderField(Enum):
    CREATED_AT = "Submission time."
    COMPLETED_AT = "Finish time; unfinished jobs last."
    MODEL_NAME = "Model name."
    STATUS = f"Lifecycle order: {', '.join(domain.JOB_STATUSES)}."
    FINAL_LOSS = "Final loss; jobs without one last."


@paged("training job", "training jobs", counted="jobs", node_of=TrainingJob.from_row)
class TrainingJobConnection(Connection[TrainingJob]):
    pass


def to_filter(flt: TrainingJobFilter) -> JobFilterSpec:
    return resolvers.job_filter(
        statuses=values_of(flt.status), model_name=flt.model_name, deployable=flt.deployable
    )


TRAINING_JOBS = arguments(
    "training jobs", TrainingJobFilter, TrainingJobOrderField, to_filter, counted="jobs"
)
