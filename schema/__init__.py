"""Strawberry types, inputs and the Schema object. Thin: fields delegate to resolvers/."""

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

from resolvers.errors import ApiError
from schema.deployment import Deployment
from schema.mutation import Mutation, TrainingJobPayload
from schema.query import Query
from schema.training_job import TrainingJob

log = logging.getLogger("deploydeck.graphql")


class Schema(strawberry.Schema):
    """Logs client mistakes in one quiet line; only unexpected exceptions get a traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, ApiError | GraphQLError):
                log.info("client error: %s", error.message)
            else:
                log.error("unexpected error: %s", error.message, exc_info=original)


# Built once per process: strawberry cannot put one Query type in two Schemas (PITFALLS).
schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Deployment, TrainingJob, TrainingJobPayload],
    # Factories: the caches themselves live at module level and are shared by every request.
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
)
