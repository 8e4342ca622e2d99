"""Demo data that looks like a real team's last six weeks: loaded into an empty database.

Fifteen models, five of each size, each fine-tuned and deployed again and again: about 90
deployments in every status, versions created in version order, most of the early ones serving
untouched for weeks (so charts have history), and the newest work still training, queued,
ready to deploy or rolling out. The random choices come from a fixed seed and every time is
relative to the load time, so every load has the same shape.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import endpoints, traffic
from db.catalog import BY_NAME
from db.models import Deployment, DeploymentEvent, TrainingJob
from domain import ACTIVATE, BY_KIND, DELETE, DEPLOY, FAIL_ROLLOUT, PAUSE, RESUME, EventKind, ModelSize, Move
from domain import DeploymentStatus as D
from domain import JobStatus as J

# (model name, base model, datasets): one product a team fine-tunes repeatedly; later jobs train
# on the second, refreshed dataset.
_PRODUCTS = (
    ("support-triage", "LFM2-350M", ("zendesk-tickets-2026q3", "zendesk-tickets-2026q4")),
    ("sentiment-edge", "LFM2-350M", ("app-reviews-multilingual", "app-reviews-multilingual-v2")),
    ("intent-router", "LFM2-350M", ("chat-intents-v5", "chat-intents-v6")),
    ("invoice-extractor", "LFM2-700M", ("invoices-ocr-v4", "invoices-ocr-v5")),
    ("pii-redactor", "LFM2-700M", ("pii-spans-synthetic", "pii-spans-synthetic-eu")),
    ("search-reranker", "LFM2-1.2B", ("clickthrough-pairs-oct", "clickthrough-pairs-nov")),
    ("product-qa", "LFM2-1.2B", ("catalog-qa-v2", "catalog-qa-v3")),
    ("release-notes-writer", "LFM2-1.2B", ("changelogs-2026", "changelogs-2026-h2")),
    ("code-review-assistant", "LFM2-2.6B", ("internal-prs-2026", "internal-prs-2026-nov")),
    ("email-drafter", "LFM2-2.6B", ("support-replies-en", "support-replies-en-de")),
    ("contract-summarizer", "LFM2-8B-A1B", ("legal-contracts-en", "legal-contracts-en-v2")),
    ("clinical-coder", "LFM2-8B-A1B", ("icd10-notes-deid", "icd10-notes-deid-v2")),
    ("sql-copilot", "Llama-3.1-8B", ("spider-plus-internal", "spider-plus-internal-v2")),
    ("incident-postmortem-writer", "Llama-3.1-8B", ("pagerduty-incidents", "pagerduty-incidents-v2")),
    ("financial-report-analyst", "Llama-3.1-8B", ("sec-filings-10k", "sec-filings-10k-10q")),
)
# What each product is doing right now, after its deployments: every job status and a rollout
# in progress occur in the fleet.
_LATEST = (J.RUNNING, J.COMPLETE, D.DEPLOYING, J.QUEUED, J.COMPLETE)
_TEAM = ("maya.chen", "lars.olsen", "priya.nair", "tom.becker", "ana.souza", "kenji.watanabe", "ci-pipeline")
_FAILURES = (
    "Health check timed out after 120 s: container did not become ready",
    "Out of memory while loading model weights",
    "Image pull failed: registry returned 503",
    "Readiness probe failed: tokenizer files missing from the artifact",
)
_JOB_FAILURES = (
    "Loss diverged (NaN) at step 1840",
    "Node preempted three times; giving up",
    "CUDA out of memory at batch size 64",
)
_HOURS_PER_3_EPOCHS = {ModelSize.NANO: 1.5, ModelSize.SMALL: 5.0, ModelSize.LARGE: 14.0}
_DAY = timedelta(days=1)


class Size(NamedTuple):
    training_jobs: int
    deployments: int  # deleted ones included
    deleted: int


@dataclass
class _Planned:
    deployment: Deployment
    job: TrainingJob
    events: list[DeploymentEvent]


async def is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(TrainingJob))) == 0


def size() -> Size:
    """How many rows the demo writes: the same for every load time."""
    jobs, planned = plan(datetime(2026, 1, 1, tzinfo=UTC))
    return Size(len(jobs), len(planned), sum(p.deployment.deleted_at is not None for p in planned))


async def load_demo(session: AsyncSession, now: datetime, seed: int = 7) -> None:
    """Insert the demo; ids follow creation time, as they would have."""
    jobs, planned = plan(now, seed)
    session.add_all(jobs)
    await session.flush()
    for p in planned:
        p.deployment.training_job_id = p.job.id
    session.add_all(p.deployment for p in planned)
    await session.flush()
    for p in planned:
        for event in p.events:
            event.deployment_id = p.deployment.id
        session.add_all(p.events)
    await session.flush()


def plan(now: datetime, seed: int = 7) -> tuple[list[TrainingJob], list[_Planned]]:
    """The demo's rows, not yet added to a session, each list in order of creation."""
    rng = random.Random(seed)
    jobs: list[TrainingJob] = []
    planned: list[_Planned] = []
    for index, (name, base, datasets) in enumerate(_PRODUCTS):
        _product(rng, now, name, base, datasets, _LATEST[index % len(_LATEST)], jobs, planned)
    jobs.sort(key=lambda j: j.created_at)
    planned.sort(key=lambda p: p.deployment.created_at)
    for name, *_ in _PRODUCTS:
        _split([p for p in planned if p.deployment.model_name == name])
    return jobs, planned


def _product(
    rng: random.Random,
    now: datetime,
    name: str,
    base: str,
    datasets: tuple[str, str],
    latest: str,
    jobs: list[TrainingJob],
    planned: list[_Planned],
) -> None:
    """One model's history: deployments v1.0.0, v1.1.0, … spread over six weeks, jobs before each."""
    count = rng.randint(5, 7)
    first = now - timedelta(days=rng.uniform(36, 42))
    last = now - timedelta(hours=rng.uniform(8, 60))
    step = (last - first) / (count - 1)
    times = [
        first + step * i + timedelta(hours=rng.uniform(-8, 8)) * (0 < i < count - 1) for i in range(count)
    ]

    def job(status: J, at: datetime, dataset: str) -> TrainingJob:
        made = _job(rng, name, base, dataset, status, at, now)
        jobs.append(made)
        return made

    source: TrainingJob | None = None
    previous: str | None = None
    for minor, created in enumerate(times):
        dataset = datasets[minor * 2 // count]
        # A failed rollout is often retried with the same job; otherwise a new job finished before.
        if source is None or previous != D.FAILED or rng.random() < 0.5:
            if rng.random() < 0.3:  # an attempt that went nowhere
                job(
                    rng.choice((J.FAILED, J.CANCELLED)),
                    created - timedelta(hours=rng.uniform(30, 60)),
                    dataset,
                )
            source = job(J.COMPLETE, created - timedelta(hours=rng.uniform(1, 20)), dataset)
        # The first two versions have served untouched ever since; later ones are anyone's guess.
        final = D.ACTIVE if minor < 2 else rng.choice((D.ACTIVE,) * 6 + (D.PAUSED, D.PAUSED, D.FAILED))
        pauses = 0 if minor < 2 or final != D.ACTIVE else rng.choice((0, 0, 1, 2))
        planned.append(_deployment(rng, now, source, minor, created, final, pauses))
        previous = final
    dataset = datasets[1]
    if latest == J.RUNNING:
        job(J.RUNNING, now - timedelta(hours=rng.uniform(0.5, 3)), dataset)
    elif latest == J.QUEUED:
        job(J.QUEUED, now - timedelta(minutes=rng.uniform(3, 40)), dataset)
    elif latest == J.COMPLETE:  # finished, not deployed yet: the deploy dialog offers it
        job(J.COMPLETE, now - timedelta(hours=rng.uniform(1, 6)), dataset)
    else:  # deployed a moment ago, rolling out now
        fresh = job(J.COMPLETE, now - timedelta(hours=rng.uniform(1, 6)), dataset)
        rolling_out = now - timedelta(seconds=rng.uniform(10, 25))
        planned.append(_deployment(rng, now, fresh, len(times), rolling_out, D.DEPLOYING, 0))


def _split(versions: list[_Planned]) -> None:
    """The model's traffic split as its history made it: each move's default change (db/traffic.py),
    replayed in time order, with the TRAFFIC_CHANGED events it wrote."""
    shares = {i: 0.0 for i in range(len(versions))}
    status: dict[int, str | None] = {i: None for i in range(len(versions))}
    moves = sorted(
        ((event.at, i, event) for i, p in enumerate(versions) for event in p.events), key=lambda m: m[:2]
    )
    for at, i, event in moves:
        status[i] = event.to_status
        move = BY_KIND[EventKind(event.kind)]
        if move.share is None:
            continue
        live = [
            traffic.Version(j, (1, p.deployment.version_minor, 0), str(status[j]), shares[j])
            for j, p in enumerate(versions)
            if status[j] is not None
        ]
        new = traffic.after_move(live, i, move.share)
        for v in live:
            if abs(new[v.id] - v.percent) > 1e-9:
                versions[v.id].events.append(
                    DeploymentEvent(
                        kind=EventKind.TRAFFIC_CHANGED,
                        from_status=v.status,
                        to_status=v.status,
                        actor=event.actor,
                        at=at,
                        message=traffic.message(
                            v.percent, new[v.id], f"v1.{versions[i].deployment.version_minor}.0 {move.verb}"
                        ),
                        traffic_from=v.percent,
                        traffic_to=new[v.id],
                    )
                )
                shares[v.id] = new[v.id]
    for i, p in enumerate(versions):
        p.events.sort(key=lambda e: e.at)  # stable: a move's own event stays before its traffic event
        p.deployment.traffic_percent = shares[i]


def _job(
    rng: random.Random, name: str, base: str, dataset: str, status: J, at: datetime, now: datetime
) -> TrainingJob:
    """A job that ended at `at` (COMPLETE, FAILED, CANCELLED), or was created then (QUEUED, RUNNING)."""
    model = BY_NAME[base]
    epochs = rng.choice((2, 3, 3, 4, 5))
    hours = _HOURS_PER_3_EPOCHS[model.model_size] * epochs / 3 * rng.uniform(0.7, 1.3)
    queued = timedelta(minutes=rng.uniform(2, 90))
    progress = {J.QUEUED: 0.0, J.COMPLETE: 1.0}.get(status, round(rng.uniform(0.1, 0.9), 3))
    if status in (J.QUEUED, J.RUNNING):
        created, started, completed = at, (None if status == J.QUEUED else at + queued), None
    else:
        completed = at
        started = completed - timedelta(hours=hours * progress)
        created = started - queued
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
        status_reason=rng.choice(_JOB_FAILURES) if status == J.FAILED else None,
        progress=progress,
        final_loss=None,  # COMPLETE jobs get theirs from the simulator's loss curve
        created_at=created,
        started_at=started,
        completed_at=completed,
    )


def _deployment(
    rng: random.Random,
    now: datetime,
    job: TrainingJob,
    minor: int,
    created: datetime,
    final: str,
    pauses: int,
) -> _Planned:
    version = f"v1.{minor}.0"
    dep = Deployment(
        model_name=job.model_name,
        version_major=1,
        version_minor=minor,
        version_patch=0,
        status=D.DEPLOYING,
        endpoint=endpoints.path(endpoints.readable(job.model_name), 1, minor, 0),  # names are distinct
        deployed_by=rng.choice(_TEAM),
        model_size=job.model_size,
        created_at=created,
        updated_at=created,
    )
    events = [_event(DEPLOY, dep.deployed_by, created, f"Deploying {job.model_name} {version}")]
    rollout = timedelta(seconds=rng.randint(40, 240))
    if final == D.DEPLOYING:
        dep.rollout_due_at = now + rollout
        return _Planned(dep, job, events)
    at = created + rollout
    if final == D.FAILED:
        reason = rng.choice(_FAILURES)
        events.append(_event(FAIL_ROLLOUT, "system", at, reason))
        dep.status, dep.status_reason = D.FAILED, reason
    else:
        dep.activated_at = at
        events.append(_event(ACTIVATE, "system", at, "Rollout finished"))
        events += _pauses(rng, at, now, pauses, end_paused=final == D.PAUSED)
        dep.status = events[-1].to_status or D.ACTIVE
    # Some failed or paused versions were cleaned up a while later: their versions stay used.
    if dep.status in (D.FAILED, D.PAUSED) and now - events[-1].at > 3 * _DAY and rng.random() < 0.5:
        gone = events[-1].at + timedelta(hours=rng.uniform(1, 48))
        events.append(_event(DELETE, rng.choice(_TEAM), gone, None, source=dep.status))
        dep.deleted_at = gone
    dep.updated_at = events[-1].at
    return _Planned(dep, job, events)


def _pauses(
    rng: random.Random, active_since: datetime, now: datetime, count: int, *, end_paused: bool
) -> list[DeploymentEvent]:
    """Maintenance pauses, each resumed, plus a final pause that stays when `end_paused`."""
    total = count + end_paused
    span = (now - active_since).total_seconds()
    marks = sorted(rng.uniform(0.1, 0.95) * span for _ in range(total * 2))
    events = []
    for i in range(total):
        who = rng.choice(_TEAM)
        off, on = marks[2 * i], marks[2 * i + 1]
        events.append(_event(PAUSE, who, active_since + timedelta(seconds=off), None))
        if not (end_paused and i == total - 1):
            events.append(_event(RESUME, who, active_since + timedelta(seconds=on), None))
    return events


def _event(
    move: Move, actor: str, at: datetime, message: str | None, source: str | None = None
) -> DeploymentEvent:
    """The audit-trail entry of `move` (from its one source, or from `source` when it has several)."""
    if source is None and move.sources:
        (source,) = move.sources
    return DeploymentEvent(
        kind=move.kind, from_status=source, to_status=move.target, actor=actor, at=at, message=message
    )
