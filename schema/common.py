"""Types shared by every entity: Node, PageInfo, ordering, model sizes, UserError."""

from collections.abc import Callable, Sequence
from enum import Enum, StrEnum
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry.types.enum import EnumValueDefinition

import domain
from domain import Code
from resolvers.errors import UserError as UserErrorRow
from resolvers.pagination import Connection

E = TypeVar("E", bound=type[Enum])
F = TypeVar("F", bound=Enum)


def mirrors(source: type[StrEnum], *, subset: bool = False) -> Callable[[E], E]:
    """Check at import that a GraphQL enum is `source` (or, with `subset`, some of it): the same
    names in the same order, each valued by the domain member, so a typo cannot reach run time."""

    def check(graphql_enum: E) -> E:
        values = {
            m.name: m.value.value if isinstance(m.value, EnumValueDefinition) else m.value
            for m in graphql_enum
        }
        expected = [m.name for m in source if not subset or m.name in values]
        if list(values) != expected or any(source[n] is not v for n, v in values.items()):
            raise TypeError(f"{graphql_enum.__name__} does not mirror {source.__name__}: {list(values)}")
        return graphql_enum

    return check


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


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first; nulls last.")
    DESC = strawberry.enum_value("DESC", description="Largest first; nulls last.")


@strawberry.input
class Order(Generic[F]):
    """One sort key of a listing; each listing subclasses it with its own field enum and description
    (`class DeploymentOrder(Order[DeploymentOrderField])`), which keeps its published name."""

    field: F = strawberry.field(description="Field to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Sort direction.")


@strawberry.enum(description="Size class of a model by parameter count.")
@mirrors(domain.ModelSize)
class ModelSize(Enum):
    NANO = strawberry.enum_value(domain.ModelSize.NANO, description="Under 1B parameters")
    SMALL = strawberry.enum_value(domain.ModelSize.SMALL, description="1B to under 7B parameters")
    LARGE = strawberry.enum_value(domain.ModelSize.LARGE, description="7B parameters and over")


@strawberry.enum(description="Lifecycle of a deployment.")
@mirrors(domain.DeploymentStatus)
class DeploymentStatus(Enum):
    DEPLOYING = strawberry.enum_value(
        domain.DeploymentStatus.DEPLOYING, description="Rolling out; not serving yet."
    )
    ACTIVE = strawberry.enum_value(domain.DeploymentStatus.ACTIVE, description="Serving traffic.")
    PAUSED = strawberry.enum_value(
        domain.DeploymentStatus.PAUSED, description="Stopped by a user; may be resumed."
    )
    FAILED = strawberry.enum_value(
        domain.DeploymentStatus.FAILED, description="Rollout failed; see statusReason."
    )


@strawberry.enum(description="Why a mutation did not happen.")
@mirrors(Code, subset=True)
class UserErrorCode(Enum):
    NOT_FOUND = strawberry.enum_value(Code.NOT_FOUND, description="No such object (or it was deleted).")
    INVALID_ID = strawberry.enum_value(Code.INVALID_ID, description="The ID is malformed or of another type.")
    INVALID_INPUT = strawberry.enum_value(Code.INVALID_INPUT, description="An input value is out of bounds.")
    JOB_NOT_COMPLETE = strawberry.enum_value(
        Code.JOB_NOT_COMPLETE, description="Only COMPLETE jobs can be deployed."
    )
    INVALID_TRANSITION = strawberry.enum_value(
        Code.INVALID_TRANSITION, description="The object's status does not allow this change."
    )
    HAS_DEPLOYMENTS = strawberry.enum_value(
        Code.HAS_DEPLOYMENTS, description="Deployments still reference this training job."
    )
    CONFLICT = strawberry.enum_value(Code.CONFLICT, description="A concurrent change won; retry.")
    INVALID_SPLIT = strawberry.enum_value(
        Code.INVALID_SPLIT,
        description=(
            "Traffic shares that do not sum to 100 or name a version that is not ACTIVE in the model."
        ),
    )
    PROTECTED = strawberry.enum_value(
        Code.PROTECTED, description="The version has an alias: remove the alias first."
    )
    ROLLOUT_IN_PROGRESS = strawberry.enum_value(
        Code.ROLLOUT_IN_PROGRESS, description="Another rollout of the model is baking."
    )


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
