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

A field declared with `metadata=quick("method")` (an object-typed field such as a node's `metrics`)
is read the short way when the query gives it no arguments: `source.method()` builds the value
without strawberry's resolver wrappers or its conversion of the argument defaults (~12 % of a cold
page), and its sub-fields complete as usual. `None` from the method means "not the short way": the
field's own resolver runs.
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
_Quick = tuple[str, GraphQLObjectType]  # the source's method, the object type it returns
_QUICK = "deploydeck.quick"


def quick(method: str) -> dict[str, str]:
    """A field's metadata: with no arguments given, `source.method()` is its value unless it is None."""
    return {_QUICK: method}


class LeafExecutor(StrawberryGraphQLCoreExecutionContext):
    fast_leaves = True  # tests turn it off to compare with graphql-core's own completion

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (parent type, field name) -> _Leaf or None; one operation's, shared by graphql-core's copies.
        self._leaves: dict[tuple[GraphQLObjectType, str], _Leaf | _Quick | None] = {}

    def _plan(self, parent_type: GraphQLObjectType, field_name: str) -> _Leaf | _Quick | None:
        return self._quick(parent_type, field_name) or self._leaf(parent_type, field_name)

    def _quick(self, parent_type: GraphQLObjectType, field_name: str) -> _Quick | None:
        field_def = self.schema.get_field(parent_type, field_name)
        middleware = self.middleware_manager
        if field_def is None or (middleware is not None and middleware.middlewares):
            return None
        field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(field, StrawberryField) or _QUICK not in field.metadata:
            return None
        # Permissions and extensions run in the resolver path: such a field never goes the short way.
        if field.permission_classes or field.extensions:
            return None
        object_type = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return None
        return field.metadata[_QUICK], object_type

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
                plan = self._leaves[key]
            else:
                plan = self._leaves[key] = self._plan(parent_type, node.name.value)
            if plan is not None and len(plan) == 2:
                method, object_type = plan  # type: ignore[misc]
                try:
                    value = getattr(source, method)()
                except Exception:  # the resolver runs and reports it
                    value = None
                if value is not None:
                    return self.collect_and_execute_subfields(
                        object_type, field_details_list, path, value, position_context
                    )
            elif plan is not None:
                # Inline (this runs ~700 times a page); any doubt goes to graphql-core below.
                name, leaf_type, nullable = plan  # type: ignore[misc]
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
