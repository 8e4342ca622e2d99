"""One `Payload[T]` for every mutation that returns an object, one `Deleted` for every deletion.

Each mutation's payload is a subclass keeping its published name; `payload()` and `deletion()` publish
it with its own field name (`deployment`, `trainingJob`) and descriptions.
"""

from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar

import strawberry

from resolvers import mutations
from schema.common import UserError
from schema.connection import described

T = TypeVar("T")
C = TypeVar("C", bound=type)


@strawberry.type
class Payload(Generic[T]):
    node: T | None = strawberry.field(description="The object after the change; null on error.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")
    node_of: ClassVar[Callable[[Any], Any]]  # the changed row's object, set by payload()

    @classmethod
    def of(cls, result: mutations.Result[Any]) -> Self:
        return cls.of_result(result, cls.node_of)

    @classmethod
    def of_result(cls, result: mutations.Result[Any], node: Callable[[Any], T]) -> Self:
        """The changed object made by `node` from the result's row, or the result's errors."""
        return cls(
            node=node(result.value) if result.value is not None else None,
            errors=[UserError.from_row(e) for e in result.errors],
        )


@strawberry.type
class Deleted:
    deleted_id: strawberry.ID | None = strawberry.field(description="Global ID of the deleted object.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")

    @classmethod
    def of(cls, result: mutations.Result[str]) -> Self:
        deleted = strawberry.ID(result.value) if result.value is not None else None
        return cls(deleted_id=deleted, errors=[UserError.from_row(e) for e in result.errors])


def payload(
    field: str, kind: str, node_of: Callable[[Any], Any], *, node: str | None = None
) -> Callable[[C], C]:
    """Publish a `Payload[T]` subclass: `field` is its object's field name ("trainingJob"), `kind` the
    mutations' ("training job"), `node` how the object is called (default `kind`); `node_of` makes it."""

    def publish(cls: C) -> C:
        cls.node_of = staticmethod(node_of)  # type: ignore[attr-defined]
        described_ = described(
            names={"node": field}, node=f"The {node or kind} after the change; null on error."
        )
        return described_(strawberry.type(cls, description=f"Result of a {kind} mutation."))

    return publish


def deletion(mutation: str, what: str) -> Callable[[C], C]:
    """Publish a `Deleted` subclass: the result of `mutation`, which deletes `what`."""

    def publish(cls: C) -> C:
        described_ = described(deleted_id=f"Global ID of the deleted {what}.")
        return described_(strawberry.type(cls, description=f"Result of {mutation}."))

    return publish
