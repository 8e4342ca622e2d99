"""startRollout: a CANARY or LINEAR rollout (or ALL_AT_ONCE) of an ACTIVE version within its model.

One transaction: the checks (INVALID_INPUT, NOT_FOUND, INVALID_TRANSITION, ROLLOUT_IN_PROGRESS), the
rollout row, its ROLLOUT_STARTED event and its first step's split; a UserError changes nothing.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from db import deployments
from db import rollouts as rows
from domain import Code, DeploymentStatus
from resolvers import rollout_steps, rollouts
from resolvers.context import Context
from resolvers.models import ModelRecord
from resolvers.mutations import Result, fail, row_id, run
from resolvers.split_mutations import model_record


async def start_rollout(ctx: Context, global_id: str, spec: rollouts.Spec) -> Result[ModelRecord]:
    async def work(session: AsyncSession) -> ModelRecord:
        rollouts.check(spec, "rollout")
        deployment_id = row_id(global_id, "Deployment", "deploymentId")
        row = await deployments.get_deployment_any(session=session, deployment_id=deployment_id)
        if row is None or row.deleted_at is not None:
            raise fail(Code.NOT_FOUND, f"No deployment {global_id}", "deploymentId")
        if row.status != DeploymentStatus.ACTIVE:
            raise fail(
                Code.INVALID_TRANSITION,
                f"Deployment is {row.status}; only ACTIVE versions can be rolled out",
                "deploymentId",
            )
        if row.traffic_percent >= 100.0:
            raise fail(
                Code.INVALID_INPUT, f"{row.version} already has all of its model's traffic", "deploymentId"
            )
        model_name, version = row.model_name, row.version
        await rollouts.refuse_if_baking(session, model_name, "deploymentId")
        await rollouts.plan(
            session,
            deployment_id=deployment_id,
            model_name=model_name,
            version=version,
            spec=spec,
            actor=ctx.actor,
            at=ctx.now,
            status=DeploymentStatus.ACTIVE,
        )
        planned = await rows.pending_for(session, deployment_id)
        assert planned is not None
        await rollout_steps.begin(session, planned, actor=ctx.actor, at=ctx.now)
        return await model_record(session, model_name)

    return await run(ctx, work)
