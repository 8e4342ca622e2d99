"""Opaque global IDs: base64 of "<Type>:<row id>"."""

import base64
import binascii

from db.types import INTEGER_MAX
from domain import Code
from resolvers.errors import ApiError

MAX_ID_LENGTH = 200


def encode(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def decode_any(value: str) -> tuple[str, int]:
    """(type name, row id) of a global ID; ApiError(INVALID_ID) when malformed."""
    try:
        if len(value) > MAX_ID_LENGTH:
            raise ValueError
        type_name, _, raw = base64.b64decode(value, validate=True).decode().partition(":")
        row_id = int(raw)
        if not type_name or row_id < 1 or row_id > INTEGER_MAX or not raw.isdigit():
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(f"{value[:60]!r} is not a valid ID", Code.INVALID_ID) from None
    return type_name, row_id


def decode(value: str, type_name: str) -> int:
    """Row id of a global ID that must name a `type_name`."""
    found, row_id = decode_any(value)
    if found != type_name:
        raise ApiError(f"ID {value!r} is a {found}, not a {type_name}", Code.INVALID_ID)
    return row_id
