"""Demo data that looks like a real team's last six weeks: loaded into an empty database.

Eighteen models, six of each size, each fine-tuned and deployed again and again: about 110
deployments in every status, versions created in version order, many serving untouched for weeks
(so charts have history), and the newest work still training, queued, ready to deploy or rolling
out. Each model's release history (db/demo_releases.py) adds A/B splits, standbys, aliases, a
canary baking and a recent rollback. The random choices come from a fixed seed and every time is
relative to the load time, so every load has the same shape.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo_releases as R
from db import endpoints
from db.demo_jobs import job as _job
from db.models import Deployment, DeploymentEvent, TrainingJob
from domain import ACTIVATE, DELETE, DEPLOY, FAIL_ROLLOUT, PAUSE, RESUME
from domain import DeploymentStatus as D
from domain import JobStatus as J

# (model name, base model, datasets): one product a team fine-tunes repeatedly; later jobs train on
# the second, refreshed dataset. Its release history is its role in db/demo_releases.py (ROLES).
_PRODUCTS = (
    ("support-triage", "LFM2-350M", ("zendesk-tickets-2026q3", "zendesk-tickets-2026q4")),
    ("sentiment-edge", "LFM2-350M", ("app-reviews-multilingual", "app-reviews-multilingual-v2")),
    ("intent-router", "LFM2-350M", ("chat-intents-v5", "chat-intents-v6")),
    ("invoice-extractor", "LFM2-700M", ("invoices-ocr-v4", "invoices-ocr-v5")),
    ("pii-redactor", "LFM2-700M", ("pii-spans-synthetic", "pii-spans-synthetic-eu")),
    ("language-detector", "LFM2-350M", ("langid-tatoeba", "langid-tatoeba-v2")),
    ("search-reranker", "LFM2-1.2B", ("clickthrough-pairs-oct", "clickthrough-pairs-nov")),
    ("product-qa", "LFM2-1.2B", ("catalog-qa-v2", "catalog-qa-v3")),
    ("release-notes-writer", "LFM2-1.2B", ("changelogs-2026", "changelogs-2026-h2")),
    ("code-review-assistant", "LFM2-2.6B", ("internal-prs-2026", "internal-prs-2026-nov")),
    ("email-drafter", "LFM2-2.6B", ("support-replies-en", "support-replies-en-de")),
    ("meeting-summarizer", "LFM2-1.2B", ("call-transcripts-en", "call-transcripts-en-v2")),
    ("contract-summarizer", "LFM2-8B-A1B", ("legal-contracts-en", "legal-contracts-en-v2")),
    ("clinical-coder", "LFM2-8B-A1B", ("icd10-notes-deid", "icd10-notes-deid-v2")),
    ("sql-copilot", "Llama-3.1-8B", ("spider-plus-internal", "spider-plus-internal-v2")),
    ("incident-postmortem-writer", "Llama-3.1-8B", ("pagerduty-incidents", "pagerduty-incidents-v2")),
    ("financial-report-analyst", "Llama-3.1-8B", ("sec-filings-10k", "sec-filings-10k-10q")),
    ("credit-risk-explainer", "LFM2-8B-A1B", ("loan-decisions-2026", "loan-decisions-2026-h2")),
)
# What each product is doing right now, after its deployments: every job status and a rollout in
# progress occur in the fleet. The others have a finished job not deployed yet (COMPLETE), or, in the
# CANARY and ROLLBACK roles, a version deployed with a rollout a while ago (FRESH).
_LATEST = {
    J.RUNNING: ("support-triage", "search-reranker", "meeting-summarizer", "clinical-coder"),
    J.QUEUED: ("invoice-extractor", "release-notes-writer", "financial-report-analyst"),
    D.DEPLOYING: ("intent-router", "sql-copilot"),
}
FRESH = "FRESH"
SEED = 12  # every status (a FAILED version left), a standby on support-triage (examples/)
_TEAM = ("maya.chen", "lars.olsen", "priya.nair", "tom.becker", "ana.souza", "kenji.watanabe", "ci-pipeline")
_PEOPLE = _TEAM[:-1]
_FAILURES = (
    "Health check timed out after 120 s: container did not become ready",
    "Out of memory while loading model weights",
    "Image pull failed: registry returned 503",
    "Readiness probe failed: tokenizer files missing from the artifact",
)
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
    jobs, planned, _ = plan(datetime(2026, 1, 1, tzinfo=UTC))
    return Size(len(jobs), len(planned), sum(p.deployment.deleted_at is not None for p in planned))


async def load_demo(session: AsyncSession, now: datetime, seed: int = SEED) -> list[R.Scene]:
    """Insert the demo; ids follow creation time, as they would have. Returns the release scenes
    for resolvers/demo_releases.py to play on the rows."""
    jobs, planned, scenes = plan(now, seed)
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
    return scenes


def plan(now: datetime, seed: int = SEED) -> tuple[list[TrainingJob], list[_Planned], list[R.Scene]]:
    """The demo's rows, not yet added to a session, each list in order of creation; and its scenes."""
    rng = random.Random(seed)
    jobs: list[TrainingJob] = []
    planned: list[_Planned] = []
    scenes: list[R.Scene] = []
    canaries = iter(R.CANARY_AGO)
    for name, base, datasets in _PRODUCTS:
        role = R.ROLES[name]
        latest = next(
            (s for s, names in _LATEST.items() if name in names), FRESH if role in R.FRESH else J.COMPLETE
        )
        ago = next(canaries) if role == R.CANARY else R.ROLLBACK_AGO if role == R.ROLLBACK else None
        _product(rng, now, name, base, datasets, role, latest, ago, jobs, planned, scenes)
    jobs.sort(key=lambda j: j.created_at)
    planned.sort(key=lambda p: p.deployment.created_at)
    for name, *_ in _PRODUCTS:
        R.replay_split([(p.deployment, p.events) for p in planned if p.deployment.model_name == name])
    scenes.sort(key=lambda s: (s.at, s.order))
    return jobs, planned, scenes


def _product(
    rng: random.Random,
    now: datetime,
    name: str,
    base: str,
    datasets: tuple[str, str],
    role: str,
    latest: str,
    ago: timedelta | None,
    jobs: list[TrainingJob],
    planned: list[_Planned],
    scenes: list[R.Scene],
) -> None:
    """One model's history: deployments v1.0.0, v1.1.0, … spread over six weeks, jobs before each;
    a QUIET role's ends more than a week ago, with its newest versions ACTIVE (its split's)."""
    count = rng.randint(5, 7)
    first = now - timedelta(days=rng.uniform(36, 42))
    if role in R.QUIET:
        last = now - timedelta(days=rng.uniform(10, 14))
        quiet = last + timedelta(hours=rng.uniform(20, 40))
        kept = len(R.SHARES.get(name, (100.0,)))  # its newest versions, ACTIVE since, never paused
    else:
        last, quiet, kept = now - timedelta(hours=rng.uniform(8, 60)), now - R.RECENT_QUIET, 0
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
        steady = minor < 2 or minor >= count - kept
        final = D.ACTIVE if steady else rng.choice((D.ACTIVE,) * 6 + (D.PAUSED, D.PAUSED, D.FAILED))
        pauses = 0 if steady or final != D.ACTIVE else rng.choice((0, 0, 1, 2))
        planned.append(_deployment(rng, now, quiet, source, minor, created, final, pauses))
        previous = final
    dataset = datasets[1]
    fresh = None
    if latest == J.RUNNING:
        job(J.RUNNING, now - timedelta(hours=rng.uniform(0.5, 3)), dataset)
    elif latest == J.QUEUED:
        job(J.QUEUED, now - timedelta(minutes=rng.uniform(3, 40)), dataset)
    elif latest == J.COMPLETE:  # finished, not deployed yet: the deploy dialog offers it
        job(J.COMPLETE, now - timedelta(hours=rng.uniform(1, 6)), dataset)
    else:  # deployed a moment ago, rolling out now; or (FRESH) `ago`, with a rollout (its scenes)
        made = job(J.COMPLETE, now - (ago or timedelta()) - timedelta(hours=rng.uniform(1, 6)), dataset)
        deployed = now - (ago or timedelta(seconds=rng.uniform(10, 25)))
        planned.append(_deployment(rng, now, quiet, made, len(times), deployed, D.DEPLOYING, 0))
        fresh = planned[-1].deployment if latest == FRESH else None
    scenes += R.scenes_of(rng, now, name, role, quiet, count, fresh, _PEOPLE)


def _deployment(
    rng: random.Random,
    now: datetime,
    quiet: datetime,
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
    message = f"Deploying {job.model_name} {version}"
    events = [DeploymentEvent.of_move(DEPLOY, actor=dep.deployed_by, at=created, message=message)]
    rollout = timedelta(seconds=rng.randint(40, 240))
    if final == D.DEPLOYING:
        dep.rollout_due_at = created + rollout
        return _Planned(dep, job, events)
    at = created + rollout
    if final == D.FAILED:
        reason = rng.choice(_FAILURES)
        events.append(DeploymentEvent.of_move(FAIL_ROLLOUT, actor="system", at=at, message=reason))
        dep.status, dep.status_reason = D.FAILED, reason
    else:
        dep.activated_at = at
        events.append(DeploymentEvent.of_move(ACTIVATE, actor="system", at=at, message="Rollout finished"))
        events += _pauses(rng, at, quiet, pauses, end_paused=final == D.PAUSED)
        dep.status = events[-1].to_status or D.ACTIVE
    # Some failed or paused versions were cleaned up a while later: their versions stay used.
    if dep.status in (D.FAILED, D.PAUSED) and now - events[-1].at > 3 * _DAY and rng.random() < 0.5:
        gone = events[-1].at + timedelta(hours=rng.uniform(1, 48))
        events.append(DeploymentEvent.of_move(DELETE, actor=rng.choice(_TEAM), at=gone, source=dep.status))
        dep.deleted_at = gone
    dep.updated_at = events[-1].at
    return _Planned(dep, job, events)


def _pauses(
    rng: random.Random, active_since: datetime, until: datetime, count: int, *, end_paused: bool
) -> list[DeploymentEvent]:
    """Maintenance pauses before `until`, each resumed, plus a final pause that stays when `end_paused`."""
    total = count + end_paused
    span = (until - active_since).total_seconds()
    marks = sorted(rng.uniform(0.1, 0.95) * span for _ in range(total * 2))
    events = []
    for i in range(total):
        who = rng.choice(_TEAM)
        off, on = marks[2 * i], marks[2 * i + 1]
        events.append(DeploymentEvent.of_move(PAUSE, actor=who, at=active_since + timedelta(seconds=off)))
        if not (end_paused and i == total - 1):
            events.append(DeploymentEvent.of_move(RESUME, actor=who, at=active_since + timedelta(seconds=on)))
    return events
