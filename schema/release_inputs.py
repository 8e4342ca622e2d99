"""Inputs and payload of the release mutations (setTrafficSplit, rollbackModel, startRollout, aliases)."""

import strawberry

from domain import RolloutStrategy as Strategy
from resolvers.rollouts import Spec
from schema.model import Model
from schema.payload import Payload, payload
from schema.vocabulary import RolloutStrategy


@strawberry.input(description="How a version takes its model's traffic.")
class RolloutInput:
    strategy: RolloutStrategy = strawberry.field(
        default=RolloutStrategy.CANARY, description="CANARY, LINEAR or ALL_AT_ONCE."
    )
    percent: float | None = strawberry.field(
        default=10.0, description="CANARY: the canary's share; LINEAR: the share added per step."
    )
    bake_seconds: int | None = strawberry.field(
        default=600, description="Seconds each step bakes before the next."
    )

    def spec(self) -> Spec:
        return Spec(
            Strategy[self.strategy.name],
            10.0 if self.percent is None else self.percent,
            600 if self.bake_seconds is None else self.bake_seconds,
        )


@strawberry.input(description="Roll out an ACTIVE version within its model.")
class StartRolloutInput:
    deployment_id: strawberry.ID = strawberry.field(
        description="An ACTIVE version to roll out within its model."
    )
    rollout: RolloutInput = strawberry.field(description="How it takes the model's traffic.")


@strawberry.input(description="One version's share in a new split.")
class TrafficShareInput:
    deployment_id: strawberry.ID = strawberry.field(
        description="Global ID of an ACTIVE version of the model."
    )
    percent: float = strawberry.field(description="Its share of the model's traffic, 0-100.")


@strawberry.input(description="A model's new traffic split.")
class SetTrafficSplitInput:
    model_name: str = strawberry.field(description="The model, by its exact name.")
    shares: list[TrafficShareInput] = strawberry.field(
        description="Shares of ACTIVE versions of the model; they sum to 100; unlisted ACTIVE versions get 0."
    )

    def pairs(self) -> list[tuple[str, float]]:
        """The shares as (deployment global ID, percent)."""
        return [(share.deployment_id, share.percent) for share in self.shares]


@strawberry.input(description="Which model to change.")
class ModelNameInput:
    model_name: str = strawberry.field(description="The model, by its exact name.")


@strawberry.input(description="Point one of a model's aliases at a version.")
class SetModelAliasInput:
    model_name: str = strawberry.field(description="The model, by its exact name.")
    alias: str = strawberry.field(description="The alias: 1-40 characters of a-z, 0-9 and -.")
    deployment_id: strawberry.ID = strawberry.field(description="Global ID of a live version of the model.")


@strawberry.input(description="Remove one of a model's aliases.")
class RemoveModelAliasInput:
    model_name: str = strawberry.field(description="The model, by its exact name.")
    alias: str = strawberry.field(description="The alias to remove.")


@payload("model", "model", Model.of)
class ModelPayload(Payload[Model]):
    pass
