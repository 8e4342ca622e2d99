"""Strawberry types, inputs and the Schema object. Thin: fields delegate to resolvers/."""

import logging
import re
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig

from schema.deployment import Deployment
from schema.leaves import LeafExecutor
from schema.limits import Limits, expected_error, extensions
from schema.mutation import Mutation, TrainingJobPayload
from schema.query import Query
from schema.training_job import TrainingJob
from schema.yielding import YieldingExecutor

log = logging.getLogger("deploydeck.graphql")
# Quoted text in an error message is the client's own input (a variable's value, an id, an
# operation name): it may be a secret pasted in the wrong place, so the log never repeats it.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def redacted(message: str) -> str:
    """The message with quoted input elided; variable names ('$id') stay."""
    return _QUOTED.sub(lambda m: m[0] if m[0][1:2] == "$" else "'…'", message)


class Executor(YieldingExecutor, LeafExecutor):
    """Long lists yield to the event loop (yielding.py); plain leaves go the short way (leaves.py)."""


class Schema(strawberry.Schema):
    """Logs client mistakes in one quiet line; unexpected exceptions with a traceback and request id."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        request = getattr(getattr(execution_context, "context", None), "request", None)
        request_id = getattr(getattr(request, "state", None), "request_id", "-")
        for error in errors:
            if expected_error(error):
                log.info("request_id=%s client error: %s", request_id, redacted(error.message))
            else:
                log.error(
                    "request_id=%s unexpected error: %s",
                    request_id,
                    error.message,
                    exc_info=error.original_error,
                )


def build_schema(limits: Limits) -> Schema:
    """A schema with these limits; built once per app (strawberry types are shared)."""
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Deployment, TrainingJob, TrainingJobPayload],
        extensions=extensions(limits),
        execution_context_class=Executor,
        config=StrawberryConfig(batching_config={"max_operations": limits.max_batch}),
    )


schema = build_schema(Limits())
