"""The demo's releases: what each model's traffic split went through, and the moves users made on it.

db/demo.py plans each model's versions and their moves; here each product's role (ROLES) says what
its release history adds on top, as scenes that resolvers/demo_releases.py plays with the real
mutations' functions, in time order, when the demo is loaded:

- SPLIT: versions A/B (or A/B/C) tested since more than a week ago (a setTrafficSplit then), with
  `production` on the version carrying the most traffic and `staging` on a newer one; untouched since.
- SETTLED: the newest version took all the traffic more than a week ago; `production` on it.
- RECENT: deployed again in the last days; one ACTIVE version (the newest, unless a pause moved it)
  has all the traffic and `production`, the others stand by at 0 %.
- CANARY: a version deployed a few minutes before the load with a CANARY rollout, baking (the first of
  the candidates whose simulated health holds through its bake; the others took all the traffic).
- ROLLBACK: a version deployed as a canary a few hours before the load, and the model rolled back by
  a user (rollbackModel) two hours before it, which stopped the rollout (ROLLED_BACK).
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from db import traffic
from db.models import Deployment, DeploymentEvent
from domain import BY_KIND, EventKind

SPLIT, SETTLED, RECENT, CANARY, ROLLBACK = "SPLIT", "SETTLED", "RECENT", "CANARY", "ROLLBACK"
QUIET = (SPLIT, SETTLED)  # untouched for more than a week before the load
FRESH = (CANARY, ROLLBACK)  # a version deployed with a rollout shortly before the load

ROLES = {
    "support-triage": RECENT,
    "sentiment-edge": SPLIT,
    "intent-router": RECENT,
    "invoice-extractor": SPLIT,
    "pii-redactor": SPLIT,
    "language-detector": SETTLED,
    "search-reranker": SPLIT,
    "product-qa": CANARY,
    "release-notes-writer": SETTLED,
    "code-review-assistant": CANARY,
    "email-drafter": SPLIT,
    "meeting-summarizer": SPLIT,
    "contract-summarizer": SPLIT,
    "clinical-coder": SPLIT,
    "sql-copilot": RECENT,
    "incident-postmortem-writer": ROLLBACK,
    "financial-report-analyst": SPLIT,
    "credit-risk-explainer": SETTLED,
}
# The shares of a SPLIT model's newest versions, oldest first (each of them ACTIVE).
SHARES = {
    "sentiment-edge": (50.0, 30.0, 20.0),
    "invoice-extractor": (25.0, 25.0, 50.0),
    "pii-redactor": (50.0, 50.0),
    "search-reranker": (60.0, 25.0, 15.0),
    "email-drafter": (40.0, 40.0, 20.0),
    "meeting-summarizer": (70.0, 30.0),
    "contract-summarizer": (50.0, 30.0, 20.0),
    "clinical-coder": (30.0, 70.0),
    "financial-report-analyst": (20.0, 30.0, 50.0),
}
CANARY_PERCENT, ROLLBACK_PERCENT, BAKE_SECONDS = 10.0, 20.0, 3600
CANARY_AGO = (timedelta(minutes=7), timedelta(minutes=12))  # candidates' deploys, in _PRODUCTS order
ROLLBACK_AGO, ROLLED_BACK_AGO = timedelta(hours=2, minutes=45), timedelta(hours=2)
RECENT_QUIET = timedelta(hours=3)  # a RECENT model's maintenance (pauses) ended this long before the load

# Scene kinds
SET_SPLIT, SET_ALIAS, DEPLOY, ROLL_BACK = "SET_SPLIT", "SET_ALIAS", "DEPLOY", "ROLL_BACK"
PRODUCTION, STAGING = "production", "staging"


@dataclass(frozen=True)
class Scene:
    """One move a user (or the deploy's rollout) made on a model, at `at`."""

    at: datetime
    kind: str
    model: str
    actor: str
    # SET_SPLIT: the versions (minor numbers) and their shares; DEPLOY: the version deployed.
    minors: tuple[int, ...] = ()
    shares: tuple[float, ...] = ()
    # SET_ALIAS: production goes to the version carrying the most traffic, staging to the newest ACTIVE
    # one when that is another (skipped when there is none, or the alias is there already).
    alias: str = ""
    # DEPLOY: the rollout's share and bake; `candidate`: a canary only if its health holds (else the
    # version takes all the traffic, as a plain deploy).
    percent: float = 0.0
    bake_seconds: int = BAKE_SECONDS
    candidate: bool = False
    order: int = field(default=0, compare=False)  # among scenes at one instant


def scenes_of(
    rng: random.Random,
    now: datetime,
    name: str,
    role: str,
    quiet: datetime,
    count: int,
    fresh: Deployment | None,
    team: tuple[str, ...],
) -> list[Scene]:
    """The scenes of one product whose history is quiet from `quiet` (QUIET roles), with `count`
    versions planned before any fresh one."""
    who = rng.choice(team)
    if role == SPLIT:
        shares = SHARES[name]
        minors = tuple(range(count - len(shares), count))
        later = quiet + timedelta(minutes=rng.uniform(5, 60))
        return [
            Scene(quiet, SET_SPLIT, name, who, minors=minors, shares=shares),
            Scene(later, SET_ALIAS, name, who, alias=PRODUCTION, order=1),
            Scene(later, SET_ALIAS, name, who, alias=STAGING, order=2),
        ]
    if role == SETTLED:
        return [Scene(quiet, SET_ALIAS, name, who, alias=PRODUCTION)]
    if role == RECENT:
        return [Scene(quiet + timedelta(minutes=rng.uniform(5, 60)), SET_ALIAS, name, who, alias=PRODUCTION)]
    assert fresh is not None and fresh.rollout_due_at is not None
    created, due, by = fresh.created_at, fresh.rollout_due_at, fresh.deployed_by
    out = [
        Scene(created - timedelta(minutes=rng.uniform(10, 30)), SET_ALIAS, name, who, alias=PRODUCTION),
        Scene(
            created,
            DEPLOY,
            name,
            by,
            minors=(fresh.version_minor,),
            percent=CANARY_PERCENT if role == CANARY else ROLLBACK_PERCENT,
            candidate=role == CANARY,
        ),
        Scene(due + timedelta(minutes=1), SET_ALIAS, name, by, alias=STAGING),
        Scene(due + timedelta(minutes=2), SET_ALIAS, name, by, alias=PRODUCTION),
    ]
    if role == ROLLBACK:
        out.append(Scene(now - ROLLED_BACK_AGO, ROLL_BACK, name, rng.choice(team)))
    return out


def replay_split(versions: list[tuple[Deployment, list[DeploymentEvent]]]) -> None:
    """A model's traffic split as its history of moves made it: each move's default change
    (db/traffic.py), replayed in time order, with the TRAFFIC_CHANGED events it wrote."""
    shares = {i: 0.0 for i in range(len(versions))}
    status: dict[int, str | None] = {i: None for i in range(len(versions))}
    moves = sorted(
        ((event.at, i, event) for i, (_, events) in enumerate(versions) for event in events),
        key=lambda m: m[:2],
    )
    for at, i, event in moves:
        status[i] = event.to_status
        move = BY_KIND[EventKind(event.kind)]
        if move.share is None:
            continue
        live = [
            traffic.Version(j, (1, dep.version_minor, 0), str(status[j]), shares[j])
            for j, (dep, _) in enumerate(versions)
            if status[j] is not None
        ]
        new = traffic.after_move(live, i, move.share)
        mover = f"v1.{versions[i][0].version_minor}.0"
        for v in live:
            if abs(new[v.id] - v.percent) > 1e-9:
                versions[v.id][1].append(
                    DeploymentEvent.staying(
                        v.status,
                        EventKind.TRAFFIC_CHANGED,
                        actor=event.actor,
                        at=at,
                        message=traffic.message(v.percent, new[v.id], f"{mover} {move.verb}"),
                        traffic_from=v.percent,
                        traffic_to=new[v.id],
                    )
                )
                shares[v.id] = new[v.id]
    for i, (dep, events) in enumerate(versions):
        events.sort(key=lambda e: e.at)  # stable: a move's own event stays before its traffic event
        dep.traffic_percent = shares[i]
