"""The Mutation root: every mutation takes one `input` and returns a payload with `errors`."""

from typing import Annotated

import strawberry

from resolvers import alias_mutations, mutations, rollout_mutations, split_mutations
from resolvers.training_input import JobSpec
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


@strawberry.input(description="Which job to deploy.")
class DeployJobInput:
    job_id: strawberry.ID = strawberry.field(description="Global ID of a COMPLETE training job.")
    rollout: RolloutInput | None = strawberry.field(
        default=None, description="How the new version takes traffic once ACTIVE; default ALL_AT_ONCE."
    )


@strawberry.input(description="Which deployment to change.")
class DeploymentIdInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the deployment.")


@strawberry.input(description="Which training job to change.")
class TrainingJobIdInput:
    id: strawberry.ID = strawberry.field(description="Global ID of the training job.")


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


@strawberry.type(description="Deploy, pause, resume and delete.")
class Mutation:
    @strawberry.mutation(
        permission_classes=GUARDED,
        description="Deploy a COMPLETE training job as the next version of its model.",
    )
    async def deploy_job(
        self, info: strawberry.Info, input: Annotated[DeployJobInput, _INPUT]
    ) -> DeploymentPayload:
        rollout = input.rollout.spec() if input.rollout is not None else None
        return DeploymentPayload.of(await mutations.deploy_job(info.context, input.job_id, rollout))

    @strawberry.mutation(permission_classes=GUARDED, description="ACTIVE -> PAUSED.")
    async def pause_deployment(
        self, info: strawberry.Info, input: Annotated[DeploymentIdInput, _INPUT]
    ) -> DeploymentPayload:
        return DeploymentPayload.of(await mutations.pause_deployment(info.context, input.id))

    @strawberry.mutation(permission_classes=GUARDED, description="PAUSED -> ACTIVE.")
    async def resume_deployment(
        self, info: strawberry.Info, input: Annotated[DeploymentIdInput, _INPUT]
    ) -> DeploymentPayload:
        return DeploymentPayload.of(await mutations.resume_deployment(info.context, input.id))

    @strawberry.mutation(
        permission_classes=GUARDED, description="Only PAUSED or FAILED deployments can be deleted."
    )
    async def delete_deployment(
        self, info: strawberry.Info, input: Annotated[DeploymentIdInput, _INPUT]
    ) -> DeleteDeploymentPayload:
        return DeleteDeploymentPayload.of_result(await mutations.delete_deployment(info.context, input.id))

    @strawberry.mutation(
        permission_classes=GUARDED, description="Queue a training job; it then runs and completes on its own."
    )
    async def create_training_job(
        self, info: strawberry.Info, input: Annotated[CreateTrainingJobInput, _INPUT]
    ) -> TrainingJobPayload:
        hp = input.hyperparameters
        spec = JobSpec(
            model_name=input.model_name,
            base_model=input.base_model,
            dataset=input.dataset,
            learning_rate=hp.learning_rate,
            epochs=hp.epochs,
            batch_size=hp.batch_size,
            lora_rank=hp.lora_rank,
        )
        result = await mutations.create_training_job(info.context, spec)
        return TrainingJobPayload.of(result)

    @strawberry.mutation(permission_classes=GUARDED, description="QUEUED or RUNNING -> CANCELLED.")
    async def cancel_training_job(
        self, info: strawberry.Info, input: Annotated[TrainingJobIdInput, _INPUT]
    ) -> TrainingJobPayload:
        return TrainingJobPayload.of(await mutations.cancel_training_job(info.context, input.id))

    @strawberry.mutation(
        permission_classes=GUARDED,
        description="Refused with HAS_DEPLOYMENTS while any deployment references the job.",
    )
    async def delete_training_job(
        self, info: strawberry.Info, input: Annotated[TrainingJobIdInput, _INPUT]
    ) -> DeleteTrainingJobPayload:
        return DeleteTrainingJobPayload.of_result(await mutations.delete_training_job(info.context, input.id))

    @strawberry.mutation(
        permission_classes=GUARDED,
        description="Set the model's traffic shares between its ACTIVE versions; stops a baking rollout.",
    )
    async def set_traffic_split(
        self, info: strawberry.Info, input: Annotated[SetTrafficSplitInput, _INPUT]
    ) -> ModelPayload:
        shares = [(share.deployment_id, share.percent) for share in input.shares]
        return ModelPayload.of(
            await split_mutations.set_traffic_split(info.context, input.model_name, shares)
        )

    @strawberry.mutation(
        permission_classes=GUARDED,
        description="Roll out an ACTIVE version progressively, with automatic rollback on CRITICAL health.",
    )
    async def start_rollout(
        self, info: strawberry.Info, input: Annotated[StartRolloutInput, _INPUT]
    ) -> ModelPayload:
        spec = input.rollout.spec()
        return ModelPayload.of(await rollout_mutations.start_rollout(info.context, input.deployment_id, spec))

    @strawberry.mutation(
        permission_classes=GUARDED,
        description=(
            "Restore the traffic split in force before the model's last traffic change; "
            "stops a baking rollout."
        ),
    )
    async def rollback_model(
        self, info: strawberry.Info, input: Annotated[ModelNameInput, _INPUT]
    ) -> ModelPayload:
        return ModelPayload.of(await split_mutations.rollback_model(info.context, input.model_name))

    @strawberry.mutation(
        permission_classes=GUARDED,
        description="Point a model alias at a version; an aliased version cannot be paused or deleted.",
    )
    async def set_model_alias(
        self, info: strawberry.Info, input: Annotated[SetModelAliasInput, _INPUT]
    ) -> ModelPayload:
        result = await alias_mutations.set_model_alias(
            info.context, input.model_name, input.alias, input.deployment_id
        )
        return ModelPayload.of(result)

    @strawberry.mutation(permission_classes=GUARDED, description="Remove a model alias.")
    async def remove_model_alias(
        self, info: strawberry.Info, input: Annotated[RemoveModelAliasInput, _INPUT]
    ) -> ModelPayload:
        return ModelPayload.of(
            await alias_mutations.remove_model_alias(info.context, input.model_name, input.alias)
        )
