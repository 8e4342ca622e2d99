"""The computed cost of an operation, estimated from the document and its variables before it runs.

In the spirit of GitHub's node limit and Shopify's calculated cost: every field the response can
hold costs 1, multiplied by the sizes of the lists above it (a connection's page size, the ids of
`nodes`, the points of a series or a loss curve), so nesting connections multiplies; each item of a
list of objects costs 1 more, and a ROW more when it is a stored object (a Node) loaded from the
database. On top of that a metrics history costs the windows it aggregates (÷ WINDOWS_PER_UNIT),
and every distinct instant that needs figures for the whole fleet (a metric ordering, a health
filter, the summary cards) costs a fleet pass, priced by the fleet's size. Lists of unknown
length count as UNKNOWN_LIST items.
The weights follow measured time (bench/bench_cost.py): a unit is roughly one field value.
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_list_type,
    is_object_type,
    type_from_ast,
)
from graphql.execution.values import get_argument_values, get_directive_values, get_variable_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.cost_introspection import introspection_sizes
from simulator import RANGES

WINDOWS_PER_UNIT = 10  # a simulated window is ~1/30 of a field value's work: charged 1/10
ROW = 10  # loading and converting a stored row costs about ten field values
FLEET_PASS = 1_000  # figures for every deployment at one instant: at least this, or
DEPLOYMENTS_PER_UNIT = 25  # one unit per 25 deployments (a 100,000 fleet's pass takes ~20 ms)
MODEL_VERSIONS = 5  # serving versions assumed behind a model's figures
UNKNOWN_LIST = 10  # items assumed in a list whose length the document does not say (events, errors)
METRIC_ORDERS = {"REQUEST_VOLUME", "P50_LATENCY", "P95_LATENCY", "P99_LATENCY", "ERROR_RATE"}
DEFAULT_HISTORY_RANGE = "LAST_24_HOURS"


@dataclass(frozen=True)
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Any  # graphql-core's coerced VariableValues
    introspection: Mapping[tuple[str, str], int]


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    fleet_size: int = 0,
) -> int:
    """Estimated cost of the operation `operation_name` picks in a validated document."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return 0  # execution reports the missing or ambiguous operation itself
    operation = chosen[0]
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    if isinstance(coerced, list):  # bad variables: execution refuses them; estimate with the defaults
        coerced = get_variable_values(schema, (), {})
    walk = _Walk(
        schema=schema,
        fragments={d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)},
        variables=coerced,
        introspection=introspection_sizes(schema),
    )
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    instants: set[Any] = set()
    cost = _selection_cost(walk, operation.selection_set, root, DEFAULT_PAGE_SIZE, instants)
    fleet_pass = max(FLEET_PASS, fleet_size // DEPLOYMENTS_PER_UNIT)
    return math.ceil(cost + fleet_pass * len(instants))


def _selection_cost(
    walk: _Walk, selections: SelectionSetNode, parent: GraphQLObjectType, page: int, instants: set[Any]
) -> float:
    total = 0.0
    for node, definition in _fields(walk, selections, parent):
        total += _field_cost(walk, node, definition, parent, page, instants)
    return total


def _field_cost(
    walk: _Walk,
    node: FieldNode,
    definition: GraphQLField,
    parent: GraphQLObjectType,
    page: int,
    instants: set[Any],
) -> float:
    args = _arguments(walk, definition, node)
    key = (parent.name, node.name.value)
    named = get_named_type(definition.type)
    cost = 1.0
    items = 1
    if is_list_type(get_nullable_type(definition.type)):
        items = _list_size(walk, key, args, page)
    if named.name.endswith("Connection"):
        page = _page_size(args)
        if key[1] in ("deployments", "models") and _needs_fleet_pass(args):
            instants.add(_window_key(args.get("asOf")))
    if key == ("Query", "deploymentStats"):
        instants.add(_window_key(args.get("asOf")))
    if key in (("Deployment", "metricsHistory"), ("Model", "metricsHistory")):
        step, points = RANGES[_range_name(args.get("range"))]
        # A model's chart is one per version: counted as MODEL_VERSIONS of them.
        cost += step * points / WINDOWS_PER_UNIT * (MODEL_VERSIONS if key[0] == "Model" else 1)
        page = points  # the series' `points` list
    if node.selection_set is None:
        return cost * items
    if is_object_type(named):
        children = _selection_cost(walk, node.selection_set, named, page, instants)
    elif is_abstract_type(named):  # the costliest type it could turn out to be
        children = max(
            (
                _selection_cost(walk, node.selection_set, t, page, instants)
                for t in walk.schema.get_possible_types(named)
            ),
            default=0.0,
        )
    else:
        children = 0.0
    if is_list_type(get_nullable_type(definition.type)):
        children += 1 + (ROW if _is_stored(walk.schema, named) else 0)
    return cost + items * children


def _list_size(walk: _Walk, key: tuple[str, str], args: dict[str, Any], page: int) -> int:
    """How many items a list field can hold, as far as the document says."""
    parent, field = key
    if parent.endswith("Connection") and field in ("edges", "nodes"):
        return page
    if key == ("MetricsSeries", "points"):
        return page
    if key == ("Query", "nodes"):
        return len(args.get("ids") or ())
    if key == ("TrainingJob", "lossHistory"):
        return int(args.get("points") or 0)
    if key in walk.introspection:
        return walk.introspection[key]
    return UNKNOWN_LIST


def _is_stored(schema: GraphQLSchema, named: Any) -> bool:
    node = schema.get_type("Node")
    return named is node or (is_object_type(named) and node in named.interfaces)


def _page_size(args: dict[str, Any]) -> int:
    for name in ("first", "last"):
        value = args.get(name)
        if isinstance(value, int) and value >= 0:
            return value
    return DEFAULT_PAGE_SIZE


def _needs_fleet_pass(args: dict[str, Any]) -> bool:
    orders = _as_list(args.get("orderBy") or ())
    metric_order = any(_name(_get(order, "field")) in METRIC_ORDERS for order in orders)
    return metric_order or bool(_get(args.get("filter"), "health"))


def _window_key(as_of: Any) -> Any:
    """Instants in one 60-second window share one fleet pass; None is the request's clock."""
    if as_of is None:
        return None
    try:
        return int(as_of.timestamp()) // 60
    except (AttributeError, OverflowError, ValueError):
        return repr(as_of)


def _range_name(value: Any) -> str:
    name = _name(value) or DEFAULT_HISTORY_RANGE
    return name if name in RANGES else DEFAULT_HISTORY_RANGE


def _name(value: Any) -> Any:
    """An enum member's name (strawberry coerces enum arguments to Python enums)."""
    return getattr(value, "name", value)


def _get(value: Any, key: str) -> Any:
    """A field of a coerced input object: a dict, or strawberry's input class."""
    return value.get(key) if isinstance(value, dict) else getattr(value, key, None)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _arguments(walk: _Walk, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
    try:
        return get_argument_values(definition, node, walk.variables)
    except GraphQLError:  # execution reports a bad argument itself
        return {}


def _included(walk: _Walk, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
    try:
        skip = get_directive_values(GraphQLSkipDirective, node, walk.variables)
        include = get_directive_values(GraphQLIncludeDirective, node, walk.variables)
    except GraphQLError:
        return True
    return not (skip and skip["if"]) and not (include and not include["if"])


def _fields(
    walk: _Walk, selections: SelectionSetNode, parent: GraphQLObjectType
) -> Iterator[tuple[FieldNode, GraphQLField]]:
    """The fields a selection set asks of `parent`, through fragments, without @skip-ped ones."""
    for selection in selections.selections:
        if not _included(walk, selection):  # type: ignore[arg-type]
            continue
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name == "__typename":
                continue
            definition = _field_definition(walk.schema, parent, name)
            if definition is not None:
                yield selection, definition
        else:
            if isinstance(selection, FragmentSpreadNode):
                fragment: FragmentDefinitionNode | InlineFragmentNode | None = walk.fragments.get(
                    selection.name.value
                )
            else:
                fragment = selection  # type: ignore[assignment]
            if fragment is None or not _applies(walk.schema, fragment, parent):
                continue
            yield from _fields(walk, fragment.selection_set, parent)


def _field_definition(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> GraphQLField | None:
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    return parent.fields.get(name)


def _applies(
    schema: GraphQLSchema, fragment: FragmentDefinitionNode | InlineFragmentNode, parent: GraphQLObjectType
) -> bool:
    if fragment.type_condition is None:
        return True
    condition = type_from_ast(schema, fragment.type_condition)
    if condition is parent:
        return True
    return is_abstract_type(condition) and schema.is_sub_type(condition, parent)  # type: ignore[arg-type]
