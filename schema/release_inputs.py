"""Inputs and payload of the release mutations (setTrafficSplit, rollbackModel)."""

import strawberry

from resolvers import mutations
from schema.connection import described
from schema.model import Model
from schema.payload import Payload


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


@described(names={"node": "model"}, node="The model after the change; null on error.")
@strawberry.type(description="Result of a model mutation.")
class ModelPayload(Payload[Model]):
    @classmethod
    def of(cls, result: mutations.Result) -> "ModelPayload":  # type: ignore[type-arg]
        return cls.of_result(result, Model.of)
