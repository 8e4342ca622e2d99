"""List lengths assumed for introspection fields when costing a query (schema/cost.py)."""

import math

from graphql import GraphQLSchema, is_abstract_type

_INTROSPECTION_CACHE: dict[int, dict[tuple[str, str], int]] = {}


def introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """Average list lengths of this schema's introspection: GraphiQL's query fits, recursion does not."""
    cached = _INTROSPECTION_CACHE.get(id(schema))
    if cached is not None:
        return cached
    types = list(schema.type_map.values())

    def mean(counts: list[int]) -> int:
        return max(1, math.ceil(sum(counts) / max(1, len(counts))))

    with_fields = [t for t in types if hasattr(t, "fields")]
    all_fields = [f for t in with_fields for f in t.fields.values()]
    sizes = {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): mean([len(t.fields) for t in with_fields]),
        ("__Type", "inputFields"): mean([len(t.fields) for t in with_fields]),
        ("__Type", "enumValues"): mean([len(t.values) for t in types if hasattr(t, "values")]),
        ("__Type", "interfaces"): mean([len(getattr(t, "interfaces", ())) for t in types]),
        ("__Type", "possibleTypes"): mean(
            [len(schema.get_possible_types(t)) for t in types if is_abstract_type(t)]
        ),
        ("__Field", "args"): mean([len(getattr(f, "args", {})) for f in all_fields]),
        ("__Directive", "args"): mean([len(d.args) for d in schema.directives]),
        ("__Directive", "locations"): mean([len(d.locations) for d in schema.directives]),
    }
    _INTROSPECTION_CACHE[id(schema)] = sizes
    return sizes
