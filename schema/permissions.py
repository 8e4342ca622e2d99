"""Who may run which root field: reads and writes as the request's token allows."""

from typing import Any

import strawberry
from graphql import OperationType
from strawberry.permission import BasePermission


class Access(BasePermission):
    """Mutations need a valid token when tokens are configured; reads too when set to."""

    message = "Missing or invalid API token: send `Authorization: Bearer <token>`"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        if info.operation.operation == OperationType.MUTATION:
            return bool(info.context.may_write)
        return bool(info.context.may_read)


GUARDED = [Access]
