"""Who may run which root field: reads and writes as the request's token allows."""

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from domain import Code

UNAUTHENTICATED = "Missing or invalid API token: send `Authorization: Bearer <token>`"


class Access(BasePermission):
    """Mutations need a valid token when tokens are configured; reads too when set to."""

    message = UNAUTHENTICATED
    error_extensions = {"code": Code.UNAUTHENTICATED}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        if info.operation.operation == OperationType.MUTATION:
            return bool(info.context.may_write)
        return bool(info.context.may_read)


GUARDED: list[type[BasePermission]] = [Access]


class IntrospectionAccess(SchemaExtension):
    """`__schema` and `__type` are reads too: when reads need a token, so does introspection.

    They are graphql-core's own fields, out of reach of permission classes, so the operation is
    refused before it runs (as a whole, like any request error).
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not getattr(context.context, "may_read", True):
            definitions = document.definitions
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            chosen = [
                d
                for d in definitions
                if isinstance(d, OperationDefinitionNode)
                and (context.operation_name is None or (d.name and d.name.value == context.operation_name))
            ]
            if any(_introspects(op.selection_set, fragments, set()) for op in chosen):
                error = GraphQLError(UNAUTHENTICATED, extensions={"code": Code.UNAUTHENTICATED})
                context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def _introspects(
    selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> bool:
    """Does a root selection set ask for `__schema` or `__type`, directly or through fragments?"""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in ("__schema", "__type"):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _introspects(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _introspects(fragment.selection_set, fragments, seen):
                return True
    return False
