"""setModelAlias and removeModelAlias: one transaction each, with their ALIAS_SET / ALIAS_REMOVED events."""

import re

from sqlalchemy.ext.asyncio import AsyncSession

from db import aliases, deployments
from domain import Code
from resolvers.context import Context
from resolvers.models import ModelRecord
from resolvers.mutations import Result, fail, row_id, run
from resolvers.split_mutations import model_record, versions_or_not_found

ALIAS = re.compile(r"[a-z0-9-]{1,40}")


def _checked(alias: str) -> str:
    if not ALIAS.fullmatch(alias):
        raise fail(Code.INVALID_INPUT, "An alias is 1 to 40 characters of a-z, 0-9 and -", "alias")
    return alias


async def set_model_alias(ctx: Context, model_name: str, alias: str, global_id: str) -> Result[ModelRecord]:
    async def work(session: AsyncSession) -> ModelRecord:
        name = _checked(alias)
        await versions_or_not_found(session, model_name)
        deployment_id = row_id(global_id, "Deployment", "deploymentId")
        target = await deployments.get_deployment_any(session=session, deployment_id=deployment_id)
        if target is None or target.deleted_at is not None:
            raise fail(Code.NOT_FOUND, f"No deployment {global_id}", "deploymentId")
        if target.model_name != model_name:
            raise fail(Code.INVALID_INPUT, f"{global_id} is a version of another model", "deploymentId")
        await aliases.set_alias(session=session, target=target, alias=name, actor=ctx.actor, at=ctx.now)
        return await model_record(session, model_name)

    return await run(ctx, work)


async def remove_model_alias(ctx: Context, model_name: str, alias: str) -> Result[ModelRecord]:
    async def work(session: AsyncSession) -> ModelRecord:
        await versions_or_not_found(session, model_name)
        if not ALIAS.fullmatch(alias) or not await aliases.remove_alias(
            session=session, model_name=model_name, alias=alias, actor=ctx.actor, at=ctx.now
        ):
            raise fail(Code.NOT_FOUND, f"{model_name!r} has no alias {alias[:40]!r}", "alias")
        return await model_record(session, model_name)

    return await run(ctx, work)
