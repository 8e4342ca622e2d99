"""Demo data that looks like a real team's last few weeks: loaded into an empty database."""

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import BY_NAME
from db.deployments import slug
from db.models import Deployment, DeploymentEvent, TrainingJob

# (model name, base model, dataset): each model name is one product a team fine-tunes repeatedly.
_PRODUCTS = (
    ("support-triage", "LFM2-350M", "zendesk-tickets-2026q3"),
    ("invoice-extractor", "LFM2-700M", "invoices-ocr-v4"),
    ("search-reranker", "LFM2-1.2B", "clickthrough-pairs-oct"),
    ("code-review-assistant", "LFM2-2.6B", "internal-prs-2026"),
    ("contract-summarizer", "LFM2-8B-A1B", "legal-contracts-en"),
    ("sql-copilot", "Llama-3.1-8B", "spider-plus-internal"),
    ("sentiment-edge", "LFM2-350M", "app-reviews-multilingual"),
    ("product-qa", "LFM2-1.2B", "catalog-qa-v2"),
)
_TEAM = ("maya.chen", "lars.olsen", "priya.nair", "tom.becker", "ci-pipeline")
_FAILURES = (
    "Health check timed out after 120 s: container did not become ready",
    "Out of memory while loading model weights",
    "Image pull failed: registry returned 503",
)
# Rows the demo writes (deleted deployments included): a test checks replicas load it exactly once.
DEPLOYMENTS = 26
TRAINING_JOBS = 35
_JOB_FAILURES = ("Loss diverged (NaN) at step 1840", "Node preempted three times; giving up")


async def is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(TrainingJob))) == 0


def _job(
    rng: random.Random, name: str, base: str, dataset: str, created: datetime, status: str, now: datetime
) -> TrainingJob:
    model = BY_NAME[base]
    epochs = rng.choice((2, 3, 3, 4, 5))
    started = created + timedelta(minutes=rng.randint(2, 90)) if status != "QUEUED" else None
    hours = {"NANO": 1.5, "SMALL": 5.0, "LARGE": 14.0}[model.model_size] * epochs / 3
    completed = None
    if status in ("COMPLETE", "FAILED", "CANCELLED") and started is not None:
        completed = min(started + timedelta(hours=hours * rng.uniform(0.7, 1.3)), now - timedelta(minutes=5))
    progress = {"QUEUED": 0.0, "COMPLETE": 1.0}.get(status, round(rng.uniform(0.1, 0.9), 3))
    base_loss = {"NANO": 0.9, "SMALL": 0.7, "LARGE": 0.5}[model.model_size]
    return TrainingJob(
        model_name=name,
        base_model=base,
        parameter_count=model.parameter_count,
        model_size=model.model_size,
        dataset=dataset,
        learning_rate=rng.choice((1e-4, 2e-4, 3e-4, 5e-5)),
        epochs=epochs,
        batch_size=rng.choice((8, 16, 32, 64)),
        lora_rank=rng.choice((8, 16, 32, None)),
        status=status,
        status_reason=rng.choice(_JOB_FAILURES) if status == "FAILED" else None,
        progress=progress,
        final_loss=round(base_loss * rng.uniform(0.8, 1.2), 4) if status == "COMPLETE" else None,
        created_at=created,
        started_at=started,
        completed_at=completed,
    )


def _deployment_history(
    rng: random.Random, dep: Deployment, final: str, now: datetime
) -> list[DeploymentEvent]:
    """Events from creation to `final`, with plausible gaps; sets the deployment's status fields."""
    actor = dep.deployed_by
    at = dep.created_at
    events = [
        DeploymentEvent(
            kind="CREATED",
            from_status=None,
            to_status="DEPLOYING",
            actor=actor,
            message=f"Deploying {dep.model_name} {dep.version}",
            at=at,
        )
    ]
    rollout = timedelta(seconds=rng.randint(40, 240))
    if final == "DEPLOYING":
        dep.status, dep.rollout_due_at, dep.updated_at = "DEPLOYING", now + rollout, at
        return events
    at += rollout
    if final == "FAILED":
        reason = rng.choice(_FAILURES)
        events.append(
            DeploymentEvent(
                kind="FAILED",
                from_status="DEPLOYING",
                to_status="FAILED",
                actor="system",
                message=reason,
                at=at,
            )
        )
        dep.status, dep.status_reason, dep.updated_at = "FAILED", reason, at
        return events
    dep.activated_at = at
    events.append(
        DeploymentEvent(
            kind="ACTIVATED",
            from_status="DEPLOYING",
            to_status="ACTIVE",
            actor="system",
            message="Rollout finished",
            at=at,
        )
    )
    status = "ACTIVE"
    # Some deployments were paused for maintenance and resumed; PAUSED ones end paused.
    pauses = rng.choice((0, 0, 1, 2)) + (1 if final == "PAUSED" else 0)
    span = (now - at).total_seconds()
    marks = sorted(rng.uniform(0.1, 0.95) * span for _ in range(pauses * 2))
    for i in range(pauses):
        if final != "PAUSED" or i < pauses - 1:
            off, on = marks[2 * i], marks[2 * i + 1]
        else:
            off, on = marks[2 * i], None
        who = rng.choice(_TEAM)
        events.append(
            DeploymentEvent(
                kind="PAUSED",
                from_status="ACTIVE",
                to_status="PAUSED",
                actor=who,
                at=at + timedelta(seconds=off),
            )
        )
        status = "PAUSED"
        if on is not None:
            events.append(
                DeploymentEvent(
                    kind="RESUMED",
                    from_status="PAUSED",
                    to_status="ACTIVE",
                    actor=who,
                    at=at + timedelta(seconds=on),
                )
            )
            status = "ACTIVE"
    dep.status, dep.updated_at = status, events[-1].at
    return events


async def load_demo(session: AsyncSession, now: datetime, seed: int = 7) -> None:
    """Training jobs in every status and several deployment versions per model, over ~5 weeks."""
    rng = random.Random(seed)
    jobs: list[TrainingJob] = []
    for name, base, dataset in _PRODUCTS:
        count = rng.randint(3, 6)
        for i in range(count):
            created = now - timedelta(days=35 * (count - i) / count, hours=rng.uniform(0, 20))
            latest = i == count - 1
            status = (
                rng.choice(("RUNNING", "QUEUED", "COMPLETE"))
                if latest
                else rng.choice(("COMPLETE",) * 6 + ("FAILED", "CANCELLED"))
            )
            if status == "QUEUED":
                created = now - timedelta(minutes=rng.randint(3, 50))
            jobs.append(_job(rng, name, base, dataset, created, status, now))
    session.add_all(jobs)
    await session.flush()

    minor: dict[str, int] = {}
    complete = sorted((j for j in jobs if j.status == "COMPLETE"), key=lambda j: j.created_at)
    # (job, created): one or two deployments per job, and one rolling out right now
    plan = [(job, None) for job in complete for _ in range(rng.choice((1, 1, 2)))]
    plan.append((complete[-1], now - timedelta(seconds=20)))
    for job, created in plan:
        assert job.completed_at is not None
        n = minor.get(job.model_name, 0)
        minor[job.model_name] = n + 1
        if created is None:
            created = min(
                job.completed_at + timedelta(hours=rng.uniform(0.5, 30)), now - timedelta(minutes=5)
            )
        dep = Deployment(
            training_job_id=job.id,
            model_name=job.model_name,
            version_major=1,
            version_minor=n,
            version_patch=0,
            status="DEPLOYING",
            endpoint=f"/api/inference/{slug(job.model_name)}/v1.{n}.0",
            deployed_by=rng.choice(_TEAM),
            model_size=job.model_size,
            created_at=created,
            updated_at=created,
        )
        final = rng.choice(("ACTIVE",) * 5 + ("PAUSED", "FAILED"))
        if (now - created) < timedelta(minutes=4):
            final = "DEPLOYING"
        events = _deployment_history(rng, dep, final, now)
        session.add(dep)
        await session.flush()
        for event in events:
            event.deployment_id = dep.id
        session.add_all(events)
        # A few old, failed or paused versions were cleaned up: their versions stay used.
        if dep.status in ("FAILED", "PAUSED") and rng.random() < 0.3:
            dep.deleted_at = min(dep.updated_at + timedelta(hours=1), now)
            session.add(
                DeploymentEvent(
                    deployment_id=dep.id,
                    kind="DELETED",
                    from_status=dep.status,
                    to_status=None,
                    actor=rng.choice(_TEAM),
                    at=dep.deleted_at,
                )
            )
    await session.flush()
