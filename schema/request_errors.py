"""Request errors (nothing ran) as the GraphQL spec wants them: the operation is chosen as the spec says."""

from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from domain import Code

SEVERAL_OPERATIONS = "Must provide operation name if query contains multiple operations."


class RequestErrors(SchemaExtension):
    """Refuses a document of several operations sent without operationName."""

    def on_execute(self) -> Iterator[None]:
        # GraphQL spec, GetOperation: several operations and no operationName is a request error. Strawberry
        # runs the first one instead (ExecutionContext.operation_name falls back to its name, so graphql-core,
        # which would refuse, never sees the request's missing name). Placed before CostLimiter: nothing is
        # charged.
        context = self.execution_context
        assert context.graphql_document is not None
        definitions = context.graphql_document.definitions
        operations = sum(isinstance(d, OperationDefinitionNode) for d in definitions)
        if operations > 1 and context._provided_operation_name is None:
            error = GraphQLError(SEVERAL_OPERATIONS, extensions={"code": Code.OPERATION_RESOLUTION_FAILURE})
            context.result = GraphQLExecutionResult(data=None, errors=[error])
        yield
