"""Expected failures: UserErrors in mutation payloads, ApiErrors as GraphQL errors with a code."""

from dataclasses import dataclass

from db.engine import DatabaseUnavailable
from domain import Code

__all__ = ["ApiError", "DatabaseUnavailable", "UserError", "UserErrorException"]


@dataclass(frozen=True)
class UserError:
    code: Code
    message: str
    field: tuple[str, ...] | None = None


class ApiError(Exception):
    """A client mistake in a query (bad id, cursor, page size); graphql-core copies `extensions`."""

    def __init__(self, message: str, code: Code = Code.BAD_USER_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code}


class UserErrorException(Exception):
    """Raised inside a mutation's transaction to roll it back and report `error`."""

    def __init__(self, error: UserError) -> None:
        super().__init__(error.message)
        self.error = error
