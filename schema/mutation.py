"""The Mutation root: every mutation takes one `input` and returns a payload with `errors`."""

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import strawberry

from resolvers import alias_mutations, mutations, rollout_mutations, split_mutations
from resolvers.context import Context
from resolvers.training_input import JobSpec
from schema.connection import described
from schema.deployment import Deployment
from schema.payload import Deleted, Payload, deletion, payload
from schema.permissions import GUARDED
from schema.release_inputs import (
    ModelNameInput,
    ModelPayload,
    RemoveModelAliasInput,
    RolloutInput,
    SetModelAliasInput,
    SetTrafficSplitInput,
    StartRolloutInput,
)
from schema.training_job import TrainingJob

_INPUT = strawberry.argument(description="The mutation's arguments.")
In = TypeVar("In")  # a mutation's input type
C = TypeVar("C", bound=type)


@strawberry.input(description="Which job to deploy.")
class DeployJobInput:
    job_id: strawberry.ID = strawberry.field(description="Global ID of a COMPLETE training job.")
    rollout: RolloutInput | None = strawberry.field(
        default=None, description="How the new version takes traffic once ACTIVE; default ALL_AT_ONCE."
    )


@strawberry.input
class IdInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the object.")


def id_input(what: str) -> Callable[[C], C]:
    """Publish an `IdInput` subclass: the input of the mutations that change one `what` by its ID."""

    def publish(cls: C) -> C:
        published = strawberry.input(cls, description=f"Which {what} to change.")
        return described(id=f"Global ID of the {what}.")(published)

    return publish


@id_input("deployment")
class DeploymentIdInput(IdInput):
    pass


@id_input("training job")
class TrainingJobIdInput(IdInput):
    pass


@strawberry.input(description="Fine-tuning settings of a new training job.")
class HyperparametersInput:
    learning_rate: float = strawberry.field(description="Optimizer learning rate, 1e-6 to 1e-2.")
    epochs: int = strawberry.field(description="Passes over the dataset, 1 to 50.")
    batch_size: int = strawberry.field(description="Examples per optimizer step, 1 to 1024.")
    lora_rank: int | None = strawberry.field(
        default=None, description="LoRA adapter rank, 1 to 512; null for full fine-tuning."
    )


@strawberry.input(description="A new training job.")
class CreateTrainingJobInput:
    model_name: str = strawberry.field(description="Name of the model it produces (1-100 characters).")
    base_model: str = strawberry.field(description="Name of one of Query.baseModels.")
    dataset: str = strawberry.field(description="Dataset to train on (1-200 characters).")
    hyperparameters: HyperparametersInput = strawberry.field(description="Fine-tuning settings.")

    def spec(self) -> JobSpec:
        """The job asked for: these fields, and the hyperparameters' own."""
        return JobSpec(self.model_name, self.base_model, self.dataset, **asdict(self.hyperparameters))


@payload("deployment", "deployment", Deployment.from_row)
class DeploymentPayload(Payload[Deployment]):
    pass


@deletion("deleteDeployment", "deployment")
class DeleteDeploymentPayload(Deleted):
    pass


@payload("trainingJob", "training job", TrainingJob.from_row, node="job")
class TrainingJobPayload(Payload[TrainingJob]):
    pass


@deletion("deleteTrainingJob", "job")
class DeleteTrainingJobPayload(Deleted):
    pass


def mutation(
    description: str,
    input_type: type[In],
    answer: type[Payload[Any] | Deleted],
    run: Callable[[Context, In], Awaitable[mutations.Result[Any]]],
) -> Any:
    """A guarded mutation taking one `input` of `input_type`: `run` makes the change, its result is
    published as the `answer` payload (the changed object, or the errors)."""

    async def resolve(info: strawberry.Info, input: Annotated[input_type, _INPUT]) -> answer:  # type: ignore[valid-type]
        return answer.of(await run(info.context, input))

    return strawberry.mutation(resolver=resolve, permission_classes=GUARDED, description=description)


@strawberry.type(description="Deploy, pause, resume and delete.")
class Mutation:
    deploy_job = mutation(
        "Deploy a COMPLETE training job as the next version of its model.",
        DeployJobInput,
        DeploymentPayload,
        lambda ctx, i: mutations.deploy_job(ctx, i.job_id, i.rollout.spec() if i.rollout else None),
    )
    pause_deployment = mutation(
        "ACTIVE -> PAUSED.",
        DeploymentIdInput,
        DeploymentPayload,
        lambda ctx, i: mutations.pause_deployment(ctx, i.id),
    )
    resume_deployment = mutation(
        "PAUSED -> ACTIVE.",
        DeploymentIdInput,
        DeploymentPayload,
        lambda ctx, i: mutations.resume_deployment(ctx, i.id),
    )
    delete_deployment = mutation(
        "Only PAUSED or FAILED deployments can be deleted.",
        DeploymentIdInput,
        DeleteDeploymentPayload,
        lambda ctx, i: mutations.delete_deployment(ctx, i.id),
    )
    create_training_job = mutation(
        "Queue a training job; it then runs and completes on its own.",
        CreateTrainingJobInput,
        TrainingJobPayload,
        lambda ctx, i: mutations.create_training_job(ctx, i.spec()),
    )
    cancel_training_job = mutation(
        "QUEUED or RUNNING -> CANCELLED.",
        TrainingJobIdInput,
        TrainingJobPayload,
        lambda ctx, i: mutations.cancel_training_job(ctx, i.id),
    )
    delete_training_job = mutation(
        "Refused with HAS_DEPLOYMENTS while any deployment references the job.",
        TrainingJobIdInput,
        DeleteTrainingJobPayload,
        lambda ctx, i: mutations.delete_training_job(ctx, i.id),
    )
    set_traffic_split = mutation(
        "Set the model's traffic shares between its ACTIVE versions; stops a baking rollout.",
        SetTrafficSplitInput,
        ModelPayload,
        lambda ctx, i: split_mutations.set_traffic_split(ctx, i.model_name, i.pairs()),
    )
    start_rollout = mutation(
        "Roll out an ACTIVE version progressively, with automatic rollback on CRITICAL health.",
        StartRolloutInput,
        ModelPayload,
        lambda ctx, i: rollout_mutations.start_rollout(ctx, i.deployment_id, i.rollout.spec()),
    )
    rollback_model = mutation(
        "Restore the traffic split in force before the model's last traffic change; stops a baking rollout.",
        ModelNameInput,
        ModelPayload,
        lambda ctx, i: split_mutations.rollback_model(ctx, i.model_name),
    )
    set_model_alias = mutation(
        "Point a model alias at a version; an aliased version cannot be paused or deleted.",
        SetModelAliasInput,
        ModelPayload,
        lambda ctx, i: alias_mutations.set_model_alias(ctx, i.model_name, i.alias, i.deployment_id),
    )
    remove_model_alias = mutation(
        "Remove a model alias.",
        RemoveModelAliasInput,
        ModelPayload,
        lambda ctx, i: alias_mutations.remove_model_alias(ctx, i.model_name, i.alias),
    )
