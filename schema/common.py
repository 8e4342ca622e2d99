"""Types shared by every entity: Node, PageInfo, ordering, UserError, base models; copied() fills a type
from a row or record."""

from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from resolvers.errors import UserError as UserErrorRow
from resolvers.pagination import Connection
from schema.vocabulary import ModelSize, UserErrorCode, described_enum

F = TypeVar("F", bound=Enum)
T = TypeVar("T")

_PLAIN_FIELDS: dict[type, tuple[str, ...]] = {}  # per strawberry type, its fields without a resolver


def copied(cls: type[T], source: object, **given: Any) -> T:
    """An object of the strawberry type `cls` whose plain fields (no resolver) not `given` are read
    from `source`'s attributes of the same names: a row or record's fields are not restated."""
    names = _PLAIN_FIELDS.get(cls)
    if names is None:
        fields = cls.__strawberry_definition__.fields  # type: ignore[attr-defined]
        names = _PLAIN_FIELDS[cls] = tuple(f.python_name for f in fields if f.base_resolver is None)
    return cls(**{name: getattr(source, name) for name in names if name not in given}, **given)


@strawberry.interface(description="An object with a global ID, refetchable with `node(id)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID.")


@strawberry.type(description="Relay page information of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")

    @classmethod
    def of(cls, conn: Connection[object]) -> "PageInfo":
        return cls(
            has_next_page=conn.has_next,
            has_previous_page=conn.has_previous,
            start_cursor=conn.cursors[0] if conn.cursors else None,
            end_cursor=conn.cursors[-1] if conn.cursors else None,
        )


@described_enum("Sort direction.")
class OrderDirection(Enum):
    ASC = "Smallest first; nulls last."
    DESC = "Largest first; nulls last."


@strawberry.input
class Order(Generic[F]):
    """One sort key of a listing; `arguments()` (schema/connection.py) publishes each listing's
    subclass with its own field enum (`DeploymentOrder`, an `Order[DeploymentOrderField]`)."""

    field: F = strawberry.field(description="Field to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Sort direction.")


@strawberry.type(description="An expected failure of a mutation; nothing was changed.")
class UserError:
    code: UserErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "jobId"].'
    )

    @classmethod
    def from_row(cls, error: UserErrorRow) -> "UserError":
        return cls(
            code=UserErrorCode(error.code),
            message=error.message,
            field=list(error.field) if error.field else None,
        )


def direction_desc(direction: OrderDirection) -> bool:
    return direction is OrderDirection.DESC


def order_keys(order_by: Sequence[Order[Any]] | None) -> list[tuple[str, bool]] | None:
    """An orderBy argument as (field, descending) keys; None if absent."""
    if not order_by:
        return None
    return [(o.field.value, direction_desc(o.direction)) for o in order_by]


def values_of(items: Sequence[Enum] | None) -> list[Any] | None:
    """The values of a list-of-enums filter argument; None when the argument is absent."""
    return None if items is None else [item.value for item in items]


@strawberry.type(description="A foundation model that training jobs fine-tune.")
class BaseModel:
    name: str = strawberry.field(description="Catalog name, e.g. LFM2-1.2B.")
    parameter_count: float = strawberry.field(description="Number of parameters.")
    model_size: ModelSize = strawberry.field(description="Size class by parameter count.")


# Argument types with their descriptions, shared by every field that takes them.
First = Annotated[
    int | None, strawberry.argument(description="Page size from the start (max 100; default 20).")
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor to continue after (from pageInfo.endCursor).")
]
Last = Annotated[int | None, strawberry.argument(description="Page size from the end (max 100).")]
Before = Annotated[
    str | None, strawberry.argument(description="Cursor to continue before (from pageInfo.startCursor).")
]
GlobalId = Annotated[strawberry.ID, strawberry.argument(description="Opaque global ID.")]
