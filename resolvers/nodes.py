"""Node lookup by global ID, for `node` and `nodes`."""

import asyncio
from typing import Any

from domain import Code
from resolvers import ids, models
from resolvers.context import Context
from resolvers.errors import ApiError

MAX_NODES = 100


async def load_node(ctx: Context, global_id: str) -> tuple[str, Any] | None:
    """(type name, row) for a global ID, or None when no such live object exists."""
    type_name, row_id = ids.decode_any(global_id)
    if type_name == "Deployment":
        row = await ctx.loaders.deployment.load(row_id)
    elif type_name == models.TYPE_NAME:
        row = await models.model_by_id(ctx, row_id)
    elif type_name == "TrainingJob":
        row = await ctx.loaders.job.load(row_id)
        row = None if row is None or row.deleted_at is not None else row
    else:
        raise ApiError(f"ID {global_id!r} names an unknown type", Code.INVALID_ID)
    return None if row is None else (type_name, row)


async def load_nodes(ctx: Context, global_ids: list[str]) -> list[tuple[str, Any] | None]:
    """Every ID at once, so the DataLoaders fetch them in one query per type, not one per ID."""
    if len(global_ids) > MAX_NODES:
        raise ApiError(f"`nodes` takes at most {MAX_NODES} IDs, got {len(global_ids)}", Code.TOO_MANY_IDS)
    for global_id in global_ids:
        ids.decode_any(global_id)  # a malformed ID is INVALID_ID before anything is fetched
    return list(await asyncio.gather(*(load_node(ctx, i) for i in global_ids)))
