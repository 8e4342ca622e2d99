"""Types shared by every entity: Node, PageInfo, ordering, model sizes, UserError."""

from collections.abc import Callable, Sequence
from enum import Enum, StrEnum
from typing import Annotated, Any, Generic, TypeVar

import strawberry

import domain
from domain import Code
from resolvers.errors import UserError as UserErrorRow
from resolvers.pagination import Connection

E = TypeVar("E", bound=type[Enum])
F = TypeVar("F", bound=Enum)


def described_enum(
    description: str, mirrors: type[StrEnum] | None = None, *, subset: bool = False
) -> Callable[[E], E]:
    """Publish a GraphQL enum whose class body says what each member means (`ACTIVE = "Serving."`).

    With `mirrors` (a domain StrEnum) each member is valued by the domain member of its name, and the
    names must be the domain's, in its order (with `subset`, some of them): a typo fails at import.
    Without it, a member's value is its name."""

    def publish(cls: E) -> E:
        meanings = {name: member.value for name, member in cls.__members__.items()}
        if mirrors is not None:
            expected = [m.name for m in mirrors if not subset or m.name in meanings]
            if list(meanings) != expected:
                raise TypeError(f"{cls.__name__} does not mirror {mirrors.__name__}: {list(meanings)}")
        values = [
            (name, strawberry.enum_value(name if mirrors is None else mirrors[name], description=meaning))
            for name, meaning in meanings.items()
        ]
        made = Enum(cls.__name__, values, module=cls.__module__, qualname=cls.__qualname__)  # type: ignore[misc]
        return strawberry.enum(made, description=description)  # type: ignore[return-value]

    return publish


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


@described_enum("Size class of a model by parameter count.", domain.ModelSize)
class ModelSize(Enum):
    NANO = "Under 1B parameters"
    SMALL = "1B to under 7B parameters"
    LARGE = "7B parameters and over"


@described_enum("Lifecycle of a deployment.", domain.DeploymentStatus)
class DeploymentStatus(Enum):
    DEPLOYING = "Rolling out; not serving yet."
    ACTIVE = "Serving traffic."
    PAUSED = "Stopped by a user; may be resumed."
    FAILED = "Rollout failed; see statusReason."


@described_enum("Why a mutation did not happen.", Code, subset=True)
class UserErrorCode(Enum):
    NOT_FOUND = "No such object (or it was deleted)."
    INVALID_ID = "The ID is malformed or of another type."
    INVALID_INPUT = "An input value is out of bounds."
    JOB_NOT_COMPLETE = "Only COMPLETE jobs can be deployed."
    INVALID_TRANSITION = "The object's status does not allow this change."
    HAS_DEPLOYMENTS = "Deployments still reference this training job."
    CONFLICT = "A concurrent change won; retry."
    INVALID_SPLIT = "Traffic shares that do not sum to 100 or name a version that is not ACTIVE in the model."
    PROTECTED = "The version has an alias: remove the alias first."
    ROLLOUT_IN_PROGRESS = "Another rollout of the model is baking."


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
