"""Node lookup by global ID, for `node` and `nodes`."""

from typing import Any

from resolvers import ids
from resolvers.context import Context
from resolvers.errors import ApiError

MAX_NODES = 100


async def load_node(ctx: Context, global_id: str) -> tuple[str, Any] | None:
    """(type name, row) for a global ID, or None when no such live object exists."""
    type_name, row_id = ids.decode_any(global_id)
    if type_name == "Deployment":
        row = await ctx.loaders.deployment.load(row_id)
    elif type_name == "TrainingJob":
        row = await ctx.loaders.job.load(row_id)
        row = None if row is None or row.deleted_at is not None else row
    else:
        raise ApiError(f"ID {global_id!r} names an unknown type", "INVALID_ID")
    return None if row is None else (type_name, row)


def check_count(global_ids: list[str]) -> None:
    if len(global_ids) > MAX_NODES:
        raise ApiError(f"`nodes` takes at most {MAX_NODES} IDs, got {len(global_ids)}", "TOO_MANY_IDS")
