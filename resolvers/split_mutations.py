"""The release mutations on a model's traffic split: setTrafficSplit and rollbackModel.

Each runs in one write transaction (behind the lock every writer takes first), checks the model's
versions as they are then, and writes the changed shares with their TRAFFIC_CHANGED events; a
UserError rolls it back and changes nothing. Either stops the model's baking rollout (ROLLED_BACK).
"""

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import releases, traffic
from domain import Code, DeploymentStatus
from resolvers import ids, rollout_steps
from resolvers.context import Context
from resolvers.errors import ApiError
from resolvers.models import ModelRecord, could_be_a_name
from resolvers.mutations import Result, fail, run

SUM_TOLERANCE = 0.01  # percent: the shares must sum to 100 within this


async def versions_or_not_found(session: AsyncSession, model_name: str) -> list[traffic.Version]:
    versions = await traffic.versions_of(session, model_name) if could_be_a_name(model_name) else []
    if not versions:
        raise fail(Code.NOT_FOUND, f"No model {model_name[:100]!r} with a live version", "modelName")
    return versions


async def model_record(session: AsyncSession, model_name: str) -> ModelRecord:
    facts = (await releases.models_named(session=session, names=[model_name]))[model_name]
    return ModelRecord.of(facts)


def _deployment_id(global_id: str, *path: str) -> int:
    try:
        return ids.decode(global_id, "Deployment")
    except ApiError as exc:
        raise fail(Code.INVALID_ID, exc.message, *path) from None


def _named(version: traffic.Version) -> str:
    return "v" + ".".join(map(str, version.version))


async def set_traffic_split(
    ctx: Context, model_name: str, shares: Sequence[tuple[str, float]]
) -> Result[ModelRecord]:
    """Shares between the model's ACTIVE versions; unlisted ACTIVE versions get 0."""

    async def work(session: AsyncSession) -> ModelRecord:
        versions = await versions_or_not_found(session, model_name)
        by_id = {v.id: v for v in versions}
        wanted: dict[int, float] = {}
        for k, (global_id, percent) in enumerate(shares):
            here = ("shares", str(k))
            deployment_id = _deployment_id(global_id, *here, "deploymentId")
            version = by_id.get(deployment_id)
            if version is None or version.status != DeploymentStatus.ACTIVE:
                state = "not a version of this model" if version is None else f"{version.status}"
                raise fail(
                    Code.INVALID_SPLIT,
                    f"{global_id} is {state}: shares go to ACTIVE versions of {model_name!r}",
                    *here,
                    "deploymentId",
                )
            if deployment_id in wanted:
                raise fail(Code.INVALID_SPLIT, f"{_named(version)} is listed twice", *here, "deploymentId")
            if not (math.isfinite(percent) and 0.0 <= percent <= traffic.FULL):
                raise fail(
                    Code.INVALID_SPLIT, f"A share is 0 to 100 percent, not {percent}", *here, "percent"
                )
            wanted[deployment_id] = percent
        total = sum(wanted.values())
        if abs(total - traffic.FULL) > SUM_TOLERANCE:
            raise fail(Code.INVALID_SPLIT, f"The shares sum to {total:g}, not 100", "shares")
        await write_set_split(session, model_name, versions, wanted, actor=ctx.actor, at=ctx.now)
        return await model_record(session, model_name)

    return await run(ctx, work)


async def write_set_split(
    session: AsyncSession,
    model_name: str,
    versions: Sequence[traffic.Version],
    wanted: Mapping[int, float],
    *,
    actor: str,
    at: datetime,
) -> None:
    """setTrafficSplit's change, once checked: the shares (scaled to sum to 100 exactly; unlisted
    versions at 0) with their events, and the model's baking rollout stopped."""
    total = sum(wanted.values())
    new = {v.id: 0.0 for v in versions} | traffic.rounded(
        {i: p * traffic.FULL / total for i, p in wanted.items()}
    )
    await rollout_steps.stop(session, model_name, actor=actor, at=at, why="the split was set by hand")
    await rollout_steps.set_split(session, versions, new, actor=actor, at=at, why="split set")


async def rollback_model(ctx: Context, model_name: str) -> Result[ModelRecord]:
    """The split in force before the model's last traffic change, restored."""

    async def work(session: AsyncSession) -> ModelRecord:
        versions = await versions_or_not_found(session, model_name)
        await write_rollback(session, model_name, versions, actor=ctx.actor, at=ctx.now)
        return await model_record(session, model_name)

    return await run(ctx, work)


async def write_rollback(
    session: AsyncSession, model_name: str, versions: Sequence[traffic.Version], *, actor: str, at: datetime
) -> None:
    """rollbackModel's change: the split before the model's last traffic change, restored (INVALID_SPLIT
    when it cannot be), with its events, and the model's baking rollout stopped."""
    last = await traffic.last_change(session, model_name)
    if not last:
        raise fail(Code.INVALID_SPLIT, f"{model_name!r} has no traffic change to roll back", "modelName")
    by_id = {v.id: v for v in versions}
    restored = {v.id: v.percent for v in versions}
    for deployment_id, before in last.items():
        version = by_id.get(deployment_id)
        if before > 0 and (version is None or version.status != DeploymentStatus.ACTIVE):
            state = "deleted" if version is None else version.status
            raise fail(
                Code.INVALID_SPLIT,
                f"The split before the last change gave {before:g} % to a version that is {state} now",
                "modelName",
            )
        if version is not None:
            restored[deployment_id] = before
    active = sum(p for i, p in restored.items() if by_id[i].status == DeploymentStatus.ACTIVE)
    if abs(active - traffic.FULL) > SUM_TOLERANCE:
        raise fail(Code.INVALID_SPLIT, "The split before the last change no longer sums to 100", "modelName")
    await rollout_steps.stop(session, model_name, actor=actor, at=at, why="the model was rolled back")
    await rollout_steps.set_split(session, versions, restored, actor=actor, at=at, why="rolled back")
