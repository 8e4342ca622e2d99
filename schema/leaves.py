"""An executor that completes plain leaf fields without graphql-core's per-field machinery.

A page of 50 deployments is ~700 field values, nearly all plain attributes (`modelName`,
`status`, `p99Latency`, ...). For each one graphql-core builds a GraphQLResolveInfo, checks for
arguments, calls strawberry's default resolver, then walks complete_value (NonNull, null, list,
leaf) to reach `coerce_output_value`: the round-one profile put that at ~40 % of a cold page.

A field qualifies for the short way when strawberry resolves it by reading an attribute (its
resolver is marked `_is_default`: no resolver, no permission classes, no field extensions), it takes
no arguments, its type is a scalar or enum (possibly non-null), and no middleware wraps resolvers.
The short way reads the value and coerces it; whenever that would not give a plain value (the read
raises, an exception or awaitable comes back, a null in a non-null field, coercion fails), the
field runs again the normal way from the start, so every error, path and location is graphql-core's
own. Reading twice is safe: a basic field's resolver only does `getattr`, as the short way does.
"""

import inspect
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_PLAIN = frozenset({str, int, float, bool})  # neither awaitable nor an exception: no need to ask
_Leaf = tuple[str, GraphQLLeafType, bool]  # attribute name, leaf type, nullable


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    fast_leaves = True  # tests turn it off to compare with graphql-core's own completion

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (parent type, field name) -> _Leaf or None; one operation's, shared by graphql-core's copies.
        self._leaves: dict[tuple[GraphQLObjectType, str], _Leaf | None] = {}

    def _leaf(self, parent_type: GraphQLObjectType, field_name: str) -> _Leaf | None:
        field_def = self.schema.get_field(parent_type, field_name)
        middleware = self.middleware_manager
        if field_def is None or field_def.args or (middleware is not None and middleware.middlewares):
            return None  # strawberry always passes a manager; only one with extensions wraps resolvers
        if not getattr(field_def.resolve, "_is_default", False):
            return None
        field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        # A basic field's resolver is `default_resolver(source, python_name)`: read it the same way.
        if not isinstance(field, StrawberryField) or not field.is_basic_field:
            return None
        if field.default_resolver is not getattr:
            return None
        field_type = field_def.type
        nullable = not isinstance(field_type, GraphQLNonNull)
        leaf_type = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if not is_leaf_type(leaf_type):
            return None
        return field.python_name, leaf_type, nullable

    def execute_field(  # type: ignore[override]
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        if self.fast_leaves and not node.arguments:
            key = (parent_type, node.name.value)
            if key in self._leaves:
                leaf = self._leaves[key]
            else:
                leaf = self._leaves[key] = self._leaf(parent_type, node.name.value)
            if leaf is not None:
                # Inline (this runs ~700 times a page); any doubt goes to graphql-core below.
                name, leaf_type, nullable = leaf
                try:
                    value = getattr(source, name)
                    if value is None:
                        if nullable:
                            return None
                    elif type(value) in _PLAIN or not (
                        isinstance(value, Exception) or self.is_awaitable(value)
                    ):
                        coerced = leaf_type.coerce_output_value(value)
                        if coerced is not None and coerced is not Undefined:
                            return coerced
                    elif inspect.iscoroutine(value):
                        value.close()  # graphql-core's path reads its own
                except Exception:  # graphql-core reads it again and reports the error
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
