"""One `Payload[T]` for every mutation that returns an object, one `Deleted` for every deletion.

Each mutation's payload is a subclass keeping its published name; `described()` gives it its own
field name (`deployment`, `trainingJob`) and descriptions.
"""

from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

import strawberry

from resolvers import mutations
from schema.common import UserError

T = TypeVar("T")


@strawberry.type
class Payload(Generic[T]):
    node: T | None = strawberry.field(description="The object after the change; null on error.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")

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
    def of_result(cls, result: mutations.Result[str]) -> Self:
        deleted = strawberry.ID(result.value) if result.value is not None else None
        return cls(deleted_id=deleted, errors=[UserError.from_row(e) for e in result.errors])
