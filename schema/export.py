"""Write the served SDL to schema.graphql and Apollo's possibleTypes to examples/possibleTypes.json.

`python -m schema.export`; tests fail when either file drifts from the served schema.
"""

import json
from pathlib import Path

from graphql import GraphQLInterfaceType, GraphQLSchema, GraphQLUnionType

from schema import schema

ROOT = Path(__file__).resolve().parent.parent


def possible_types(served: GraphQLSchema) -> dict[str, list[str]]:
    """Every interface and union with the object types that can stand for it.

    Apollo's InMemoryCache needs this to match fragments on `Node` (e.g. `... on Deployment` in a
    `node(id)` refetch) against the objects it has normalised.
    """
    return {
        name: sorted(t.name for t in served.get_possible_types(abstract))
        for name, abstract in sorted(served.type_map.items())
        if isinstance(abstract, GraphQLInterfaceType | GraphQLUnionType) and not name.startswith("__")
    }


def possible_types_json(served: GraphQLSchema) -> str:
    return json.dumps(possible_types(served), indent=2) + "\n"


if __name__ == "__main__":
    for target, text in (
        (ROOT / "schema.graphql", schema.as_str() + "\n"),
        (ROOT / "examples" / "possibleTypes.json", possible_types_json(schema._schema)),
    ):
        target.write_text(text)
        print(f"wrote {target}")
