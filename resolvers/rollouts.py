"""Progressive rollouts (CANARY, LINEAR) of a version within its model, step by step.

A rollout is planned by deployJob(rollout:) (it begins when the version becomes ACTIVE) or begun
by startRollout on an ACTIVE version. Each step is due at its scheduled instant and written by
time-driven settling (resolvers/lifecycle.py write_due, under the write lock, re-read there so
that racing processes write it once), so every replica shows the same step at the same instant.
At each step instant the version's health is checked (resolvers/guardrail.py): CRITICAL rolls
the split back to what it was before the rollout; otherwise the version takes its next share,
or all of it (PROMOTED). Every change is written with its events in the caller's transaction.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db import rollouts as rows
from db import traffic
from db.deployments import DeploymentView
from db.models import Rollout
from domain import Code, DeploymentStatus, EventKind, RolloutState, RolloutStrategy
from resolvers.context import Context
from resolvers.errors import UserError, UserErrorException

MIN_PERCENT, MAX_PERCENT = 1.0, 99.0
MAX_BAKE_SECONDS = 7 * 24 * 3600
SYSTEM_ACTOR = "system"
ACTIVE = DeploymentStatus.ACTIVE


@dataclass(frozen=True)
class Spec:
    strategy: RolloutStrategy
    percent: float
    bake_seconds: int


def _fail(code: Code, message: str, *path: str) -> UserErrorException:
    return UserErrorException(UserError(code, message, ("input", *path)))


def check(spec: Spec, *path: str) -> None:
    """INVALID_INPUT, on the field at fault, for a share or bake time outside its bounds."""
    if spec.strategy is RolloutStrategy.ALL_AT_ONCE:
        return
    if not (math.isfinite(spec.percent) and MIN_PERCENT <= spec.percent <= MAX_PERCENT):
        what = "the canary's share" if spec.strategy is RolloutStrategy.CANARY else "the share added per step"
        raise _fail(Code.INVALID_INPUT, f"percent is {what}: 1 to 99, not {spec.percent}", *path, "percent")
    if not 1 <= spec.bake_seconds <= MAX_BAKE_SECONDS:
        raise _fail(
            Code.INVALID_INPUT,
            f"bakeSeconds is 1 to {MAX_BAKE_SECONDS} (a week), not {spec.bake_seconds}",
            *path,
            "bakeSeconds",
        )


def named(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


async def refuse_if_baking(session: AsyncSession, model_name: str, *path: str) -> None:
    row = await rows.baking(session, model_name)
    if row is not None:
        raise _fail(
            Code.ROLLOUT_IN_PROGRESS,
            f"A {row.strategy} rollout of {model_name!r} is baking; wait for it, or set the split to stop it",
            *path,
        )


def target(row: Rollout, steps: int, share: float) -> float:
    """The version's share after its `steps`-th step, from `share` before it: a canary's first step
    is its share, the next all; a linear one gains its share per step (from what the version had
    when the rollout began, never less)."""
    if row.strategy == RolloutStrategy.CANARY:
        return row.step_percent if steps == 1 else traffic.FULL
    return min(traffic.FULL, share + row.step_percent)


def with_share(versions: Sequence[traffic.Version], canary: int, percent: float) -> dict[int, float]:
    """The canary at `percent`, the other ACTIVE versions sharing the rest in proportion (or the newest)."""
    active = [v for v in versions if v.status == ACTIVE]
    others = [v for v in active if v.id != canary]
    new = {v.id: 0.0 for v in versions}
    if not others:
        new[canary] = traffic.FULL
        return new
    rest, total = traffic.FULL - percent, sum(v.percent for v in others)
    if total <= 0:
        new[max(others, key=lambda v: v.version).id] = rest
    else:
        new.update({v.id: v.percent * rest / total for v in others})
    new[canary] = percent
    return new | traffic.rounded({v.id: new[v.id] for v in active})


def restored(versions: Sequence[traffic.Version], before: dict[int, float], canary: int) -> dict[int, float]:
    """The split before the rollout, among the versions still ACTIVE (scaled back to 100 if one left)."""
    active = [v for v in versions if v.status == ACTIVE]
    shares = {v.id: before.get(v.id, 0.0) for v in active}
    total = sum(shares.values())
    if total <= 0:
        return with_share(versions, canary, 0.0)
    return {v.id: 0.0 for v in versions} | traffic.rounded(
        {i: p * traffic.FULL / total for i, p in shares.items()}
    )


async def advance(session: AsyncSession, row: Rollout, **values: object) -> bool:
    """Move the rollout on from where it was read; False when another writer already did."""
    result = await session.execute(
        update(Rollout)
        .where(Rollout.id == row.id, Rollout.state == RolloutState.BAKING, Rollout.steps == row.steps)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def plan(
    session: AsyncSession,
    *,
    deployment_id: int,
    model_name: str,
    version: str,
    spec: Spec,
    actor: str,
    at: datetime,
    status: DeploymentStatus = DeploymentStatus.DEPLOYING,
) -> None:
    """A rollout that begins when the version is ACTIVE (rollout_steps.begin: now, or at its activation)."""
    session.add(
        Rollout(
            model_name=model_name,
            deployment_id=deployment_id,
            strategy=spec.strategy,
            state=RolloutState.BAKING,
            step_percent=spec.percent,
            bake_seconds=spec.bake_seconds,
            percent=0.0,
            steps=0,
            started_at=at,
            actor=actor,
        )
    )
    message = _plan_words(version, spec)
    rows.event(session, deployment_id, EventKind.ROLLOUT_STARTED, status, actor=actor, at=at, message=message)
    await session.flush()


async def latest(ctx: Context, model_name: str) -> tuple[Rollout, DeploymentView] | None:
    """The model's rollout in progress, or its latest one, with its version (None once that is deleted)."""
    row = await ctx.loaders.rollout.load(model_name)
    if row is None:
        return None
    version = await ctx.loaders.deployment.load(row.deployment_id)
    return None if version is None else (row, version)


def _plan_words(version: str, spec: Spec) -> str:
    step = f"{spec.percent:g} %"
    if spec.strategy is RolloutStrategy.ALL_AT_ONCE:
        return f"Rollout of {version}: all the traffic at once"
    if spec.strategy is RolloutStrategy.CANARY:
        return f"Canary rollout of {version}: {step}, then all after {spec.bake_seconds} s if it holds"
    return f"Linear rollout of {version}: {step} more every {spec.bake_seconds} s while it holds"
