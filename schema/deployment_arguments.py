"""The arguments of every deployments connection (Query, Model, TrainingJob): filter and sort keys."""

from datetime import datetime
from enum import Enum

import strawberry

import domain
from resolvers import deployments as resolvers
from resolvers.listing import DeploymentFilter as DeploymentFilterSpec
from schema.common import values_of
from schema.connection import arguments
from schema.vocabulary import DeploymentHealth, DeploymentStatus, ModelSize, described_enum


@strawberry.input(description="Deployments matching all given conditions.")
class DeploymentFilter:
    status: list[DeploymentStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    model_name: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of modelName."
    )
    training_job_id: strawberry.ID | None = strawberry.field(
        default=None, description="Built from this training job."
    )
    model_size: list[ModelSize] | None = strawberry.field(
        default=None, description="Any of these size classes."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Created at or after this instant."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Created before this instant."
    )
    health: list[DeploymentHealth] | None = strawberry.field(
        default=None, description="Any of these health states, at the connection's asOf."
    )


@described_enum("Sortable fields of deployments.")
class DeploymentOrderField(Enum):
    CREATED_AT = "Creation time."
    UPDATED_AT = "Time of the last status change."
    MODEL_NAME = "Model name."
    VERSION = "Semantic order: v1.10.0 comes after v1.9.0"
    STATUS = f"Lifecycle order: {', '.join(domain.DEPLOYMENT_STATUSES)}."
    REQUEST_VOLUME = "Requests per second at asOf."
    P50_LATENCY = "P50 latency at asOf; no traffic last."
    P95_LATENCY = "P95 latency at asOf; no traffic last."
    P99_LATENCY = "P99 latency at asOf; no traffic last."
    ERROR_RATE = "Error rate at asOf; no traffic last."


def to_filter(flt: DeploymentFilter) -> DeploymentFilterSpec:
    return resolvers.deployment_filter(
        statuses=values_of(flt.status),
        model_name=flt.model_name,
        training_job_id=flt.training_job_id,
        model_sizes=values_of(flt.model_size),
        created_after=flt.created_after,
        created_before=flt.created_before,
        health=values_of(flt.health),
    )


DEPLOYMENTS = arguments("deployments", DeploymentFilter, DeploymentOrderField, to_filter)
