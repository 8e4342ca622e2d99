"""One `Connection[T]` and `Edge[T]` for every paged list; each node type names and describes its own.

A paged type is a subclass of the specialised generic (`class DeploymentConnection(Connection[Deployment])`,
which keeps the published name) that `paged()` publishes with its edge type and their words;
`described()` gives fields their own descriptions: strawberry shares one field object between a generic
and its subclasses, so the descriptions are set on copies.
"""

import copy
import inspect
import types
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar, get_args

import strawberry
from strawberry.annotation import StrawberryAnnotation

from resolvers.pagination import Connection as Rows
from resolvers.pagination import Listing, PageArgs
from schema.common import After, Before, First, Last, Order, PageInfo, order_keys

T = TypeVar("T")
C = TypeVar("C", bound=type)
R = TypeVar("R")


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
    node_of: ClassVar[Callable[[Any], Any]]  # a row's node, set by paged()

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

    @classmethod
    def of(cls, rows: Rows[Any]) -> Self:
        """The page of `rows`, each made a node by `node_of`."""
        return cls.page(rows, [cls.node_of(row) for row in rows.rows])


def paged(
    one: str, many: str, *, counted: str | None = None, node_of: Callable[[Any], Any] | None = None
) -> Callable[[C], C]:
    """Publish a `Connection[Node]` subclass and its edge type (`<Node>Edge`) in the same words for
    every listing: `one` names a node ("model"), `many` several ("models"), `counted` what its
    fields count (default `many`); `node_of` turns a row into its node for `of`."""
    counted = counted or many

    def publish(cls: C) -> C:
        (node,) = get_args(cls.__orig_bases__[0])  # type: ignore[attr-defined]
        edge = types.new_class(f"{node.__name__}Edge", (Edge[node],))  # type: ignore[valid-type]
        edge.__module__ = cls.__module__
        edge = described(node=f"The {one}.")(strawberry.type(edge, description=f"A {one} and its cursor."))
        if node_of is not None:
            cls.node_of = staticmethod(node_of)  # type: ignore[attr-defined]
        return described(
            edge=edge,
            edges=f"{counted.capitalize()} with their cursors.",
            nodes=f"The {counted} of this page.",
            total_count=f"{counted.capitalize()} matching the filter, over all pages.",
        )(strawberry.type(cls, description=f"A page of {many}."))

    return publish


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


_PAGING = (("first", First), ("after", After), ("last", Last), ("before", Before))


@dataclass(frozen=True)
class Arguments:
    """A listing's own arguments (`filter`, `orderBy`: annotated types) and how its filter input
    becomes the resolvers' filter; every connection field of that listing takes them."""

    filter: Any
    order_by: Any
    to_filter: Callable[[Any], Any]  # of a filter input; null is the input with nothing set
    filter_input: type


def arguments(
    many: str, filter_input: type, fields: type[Enum], to_filter: Callable[[Any], Any], *, counted: str = ""
) -> Arguments:
    """The `filter` and `orderBy` arguments of a listing of `many` ("training jobs"; its conditions
    say `counted`, default `many`), and its sort key `<Fields minus "Field">`: an `Order[fields]`."""
    order = types.new_class(fields.__name__.removesuffix("Field"), (Order[fields],))  # type: ignore[valid-type]
    order.__module__ = fields.__module__
    order = strawberry.input(order, description=f"One sort key for {many}.")
    return Arguments(
        Annotated[
            filter_input | None,
            strawberry.argument(description=f"Only {counted or many} matching all conditions."),
        ],
        Annotated[list[order] | None, strawberry.argument(description="Sort keys, most significant first.")],  # type: ignore[valid-type]
        to_filter,
        filter_input,
    )


def listing(
    own: Arguments, **extra: Any
) -> Callable[[Callable[..., Awaitable[R]]], Callable[..., Awaitable[R]]]:
    """A connection field's resolver `(self, info, args: Listing, **extra)` served with the
    arguments every listing takes: first, after, last, before, then the listing's `own` filter and
    orderBy, then `extra` (name: annotated type, each defaulting to None)."""

    def serve(resolve: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        async def resolver(
            self: Any,
            info: strawberry.Info,
            first: int | None = None,
            after: str | None = None,
            last: int | None = None,
            before: str | None = None,
            filter: Any = None,
            order_by: Any = None,
            **rest: Any,
        ) -> R:
            flt = own.to_filter(own.filter_input() if filter is None else filter)
            args = Listing(flt, order_keys(order_by), PageArgs(first, after, last, before))
            return await resolve(self, info, args, **rest)

        named = (*_PAGING, ("filter", own.filter), ("order_by", own.order_by), *extra.items())
        resolver.__name__ = resolve.__name__
        resolver.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what strawberry reads
            [
                inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                inspect.Parameter(
                    "info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info
                ),
                *(
                    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
                    for name, kind in named
                ),
            ],
            return_annotation=resolve.__annotations__["return"],
        )
        return resolver

    return serve
