"""Strawberry types, inputs and the Schema object. Thin: fields delegate to resolvers/."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.deployment import Deployment
from schema.mutation import Mutation, TrainingJobPayload
from schema.query import Query
from schema.training_job import TrainingJob

# Built once per process: strawberry cannot put one Query type in two Schemas (PITFALLS).
schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Deployment, TrainingJob, TrainingJobPayload],
    # Factories: the caches themselves live at module level and are shared by every request.
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
)
