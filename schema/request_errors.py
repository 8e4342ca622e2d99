"""Request errors (nothing ran) as the GraphQL spec and clients want them: the operation is chosen as the
spec says, and each error carries an `extensions.code` (Apollo Server's names, which Apollo clients know)."""

from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, VariableDefinitionNode
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from domain import Code

SEVERAL_OPERATIONS = "Must provide operation name if query contains multiple operations."
TOO_COMPLEX = (
    "Validation gave up on this document: it has over 100 errors, or comparing the fields that share a "
    "response name is too much work (each copy of a field is compared with every other: a field selected "
    "hundreds of times in one selection set is enough). Fix the errors, or select each field once."
)


def with_code(error: GraphQLError, code: Code, message: str | None = None) -> GraphQLError:
    return GraphQLError(
        message or error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )


class RequestErrors(SchemaExtension):
    """Refuses a document of several operations sent without operationName; codes the request errors."""

    def __init__(self) -> None:
        self.invalid: list[GraphQLError] = []  # what validation found

    def on_validate(self) -> Iterator[None]:
        yield
        self.invalid = list(self.execution_context.pre_execution_errors or ())

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

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLSyntaxError as error:  # ParserCache parses in its hook: the error skips the result
            raise with_code(error, Code.GRAPHQL_PARSE_FAILED) from None
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._coded(error) for error in result.errors]

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if (error.extensions or {}).get("code"):
            return error
        if isinstance(error, ValidationAbortedError):  # graphql-core's "Validation aborted." says nothing
            return with_code(error, Code.QUERY_TOO_COMPLEX, TOO_COMPLEX)
        if any(error is found for found in self.invalid):  # the depth and alias limits' too
            return with_code(error, Code.GRAPHQL_VALIDATION_FAILED)
        if error.path is None and error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
            return with_code(error, Code.BAD_USER_INPUT)  # graphql-core coercing the variables
        return error
