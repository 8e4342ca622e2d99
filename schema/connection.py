"""One `Connection[T]` and `Edge[T]` for every paged list; each node type names and describes its own.

A paged type is a subclass of the specialised generic (`class DeploymentConnection(Connection[Deployment])`,
which keeps the published name) with `described()` giving its fields their own words: strawberry shares one
field object between a generic and its subclasses, so the descriptions are set on copies.
"""

import copy
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

import strawberry
from strawberry.annotation import StrawberryAnnotation

from resolvers.pagination import Connection as Rows
from schema.common import PageInfo

T = TypeVar("T")
C = TypeVar("C", bound=type)


@strawberry.type
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque cursor for `after`/`before`.")
    node: T = strawberry.field(description="The node.")


class _Edges(Sequence[Any]):
    """A page's edges, each made when read: a table that selects only `nodes` makes none."""

    __slots__ = ("_cursors", "_edge_type", "_nodes")

    def __init__(self, edge_type: type, cursors: Sequence[str], nodes: list[Any]) -> None:
        if len(cursors) != len(nodes):
            raise ValueError("a cursor for every node")
        self._edge_type, self._cursors, self._nodes = edge_type, cursors, nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]  # no slices
        return self._edge_type(cursor=self._cursors[i], node=self._nodes[i])


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Nodes with their cursors.")
    nodes: list[T] = strawberry.field(description="The nodes of this page.")
    _rows: strawberry.Private[Rows[Any]]
    edge_type: ClassVar[type] = Edge  # the subclass's own edge type, set by described()

    @strawberry.field(description="Paging information.")
    def page_info(self) -> PageInfo:
        return PageInfo.of(self._rows)  # encodes its two cursors only when asked for

    @strawberry.field(description="Nodes matching the filter, over all pages.")
    async def total_count(self) -> int:
        return await self._rows.count()

    @classmethod
    def page(cls, rows: Rows[Any], nodes: list[T]) -> Self:
        """The page of `nodes`, made of `rows` (their cursors, paging and count)."""
        return cls(edges=_Edges(cls.edge_type, rows.cursors, nodes), nodes=nodes, _rows=rows)  # type: ignore[arg-type]


def described(
    edge: type | None = None, names: dict[str, str] | None = None, **descriptions: str
) -> Callable[[C], C]:
    """Give a strawberry type's fields (by Python name) their own descriptions; `edge`: its edges' type;
    `names`: GraphQL names for fields the generic names generically (a payload's `node`)."""
    names = names or {}

    def describe(cls: C) -> C:
        definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        fields = []
        for field in definition.fields:
            name = field.python_name
            if name in descriptions or name in names or (edge is not None and name == "edges"):
                field = copy.copy(field)  # as StrawberryField.copy_with specialises one
                field.description = descriptions.get(name, field.description)
                field.graphql_name = names.get(name, field.graphql_name)
                if edge is not None and field.python_name == "edges":
                    field.type_annotation = StrawberryAnnotation(list[edge])  # type: ignore[valid-type]
            fields.append(field)
        definition.fields = fields
        if edge is not None:
            cls.edge_type = edge  # type: ignore[attr-defined]
        return cls

    return describe
