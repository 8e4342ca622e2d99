"""ORM models. Rows are soft-deleted (`deleted_at`) so the audit trail and used versions survive."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.folding import fold
from db.types import FoldedName, Name, UTCDateTime, one_of
from domain import (
    DEPLOYMENT_STATUSES,
    EVENT_KINDS,
    JOB_STATUSES,
    MODEL_SIZES,
    ROLLOUT_STATES,
    ROLLOUT_STRATEGIES,
    Move,
)


def _folded_model_name(context: DefaultExecutionContext) -> str:
    """Filled on every insert, ORM or Core, from the row's own model_name (names never change)."""
    return fold(context.get_current_parameters()["model_name"])


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """The CHECK constraint of an enum column, from the enum's members in order (domain.py)."""
    return CheckConstraint(one_of(column, values), name=f"ck_{column}_valid")


class Base(DeclarativeBase):
    pass


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = (
        _one_of("status", JOB_STATUSES),
        _one_of("model_size", MODEL_SIZES),
        Index("ix_training_jobs_created", "created_at", "id"),
        Index("ix_training_jobs_status_start", "status", "scheduled_start_at"),
        Index("ix_training_jobs_status_end", "status", "scheduled_end_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(Name, index=True)
    model_name_folded: Mapped[str] = mapped_column(FoldedName, default=_folded_model_name)
    base_model: Mapped[str] = mapped_column(String(100))
    parameter_count: Mapped[float] = mapped_column(Float)
    model_size: Mapped[str] = mapped_column(String(10))
    dataset: Mapped[str] = mapped_column(String(200))
    learning_rate: Mapped[float] = mapped_column(Float)
    epochs: Mapped[int] = mapped_column(Integer)
    batch_size: Mapped[int] = mapped_column(Integer)
    lora_rank: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    status_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    final_loss: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The simulated run, fixed at creation: when it starts and stops, and how it ends.
    scheduled_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_status: Mapped[str | None] = mapped_column(String(10))  # COMPLETE or FAILED
    planned_progress: Mapped[float | None] = mapped_column(Float)  # progress when it stops


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (
        # Versions are never reused: the constraint also covers soft-deleted rows.
        UniqueConstraint("model_name", "version_major", "version_minor", "version_patch", name="uq_version"),
        _one_of("status", DEPLOYMENT_STATUSES),
        _one_of("model_size", MODEL_SIZES),
        Index("ix_deployments_created", "created_at", "id"),
        Index("ix_deployments_status_due", "status", "rollout_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    training_job_id: Mapped[int] = mapped_column(
        ForeignKey("training_jobs.id", ondelete="RESTRICT"), index=True
    )
    model_name: Mapped[str] = mapped_column(Name)
    model_name_folded: Mapped[str] = mapped_column(FoldedName, default=_folded_model_name)
    version_major: Mapped[int] = mapped_column(Integer)
    version_minor: Mapped[int] = mapped_column(Integer)
    version_patch: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    status_reason: Mapped[str | None] = mapped_column(Text)
    endpoint: Mapped[str] = mapped_column(String(300))
    deployed_by: Mapped[str] = mapped_column(String(100))
    model_size: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the simulated rollout of a DEPLOYING deployment finishes.
    rollout_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # First activation: the start of its traffic in the simulator.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # FleetState.revision of the last write that touched this row (for incremental cache reloads).
    revision: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # Its share of its model's traffic, percent: the ACTIVE versions' shares sum to 100 (db/traffic.py).
    traffic_percent: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    @property
    def version(self) -> str:
        return f"v{self.version_major}.{self.version_minor}.{self.version_patch}"


class ModelAlias(Base):
    """A named pointer to one version of a model (production, staging): that version cannot be paused
    or deleted while it points there."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("model_name", "alias", name="uq_alias"),
        Index("ix_model_aliases_deployment", "deployment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(Name)
    alias: Mapped[str] = mapped_column(String(40))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


class Rollout(Base):
    """A progressive rollout of one version (resolvers/rollouts.py): its plan, where it is, and the split
    before it (restored when it rolls back). A BAKING row's next step is due at `next_step_at`."""

    __tablename__ = "rollouts"
    __table_args__ = (
        _one_of("strategy", ROLLOUT_STRATEGIES),
        _one_of("state", ROLLOUT_STATES),
        Index("ix_rollouts_model", "model_name", "id"),
        Index("ix_rollouts_state_due", "state", "next_step_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(Name)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="RESTRICT"))
    strategy: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12))
    step_percent: Mapped[float] = mapped_column(Float)  # CANARY: the canary's share; LINEAR: added per step
    bake_seconds: Mapped[int] = mapped_column(Integer)
    percent: Mapped[float] = mapped_column(Float)  # the version's share now (0 until it is ACTIVE)
    steps: Mapped[int] = mapped_column(Integer)  # steps taken; 0: waiting for the version's activation
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # null once finished
    before_split: Mapped[str | None] = mapped_column(Text)  # JSON {deployment id: percent}; null until ACTIVE
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))


class FleetState(Base):
    """One row of counters, so caches in any process can tell what changed.

    `revision`: every write to deployments bumps it (the fleet snapshot reloads those rows).
    `data_revision`: every write transaction bumps it, whatever it writes (the response cache).
    """

    __tablename__ = "fleet_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    data_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeploymentEvent(Base):
    __tablename__ = "deployment_events"
    __table_args__ = (
        _one_of("kind", EVENT_KINDS),
        Index("ix_events_deployment", "deployment_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # TRAFFIC_CHANGED: the share before and after (the audit trail rebuilds past splits from them).
    traffic_from: Mapped[float | None] = mapped_column(Float)
    traffic_to: Mapped[float | None] = mapped_column(Float)

    @classmethod
    def of_move(
        cls,
        move: Move,
        *,
        actor: str,
        at: datetime,
        message: str | None = None,
        source: str | None = None,
        **more: Any,
    ) -> "DeploymentEvent":
        """The audit-trail entry of `move`: from its one source (none for DEPLOY), or from `source`
        when it has several. `more`: its deployment_id (unless attached later)."""
        if source is None and move.sources:
            (source,) = move.sources
        return cls(
            kind=move.kind,
            from_status=source,
            to_status=move.target,
            actor=actor,
            at=at,
            message=message,
            **more,
        )

    @classmethod
    def staying(
        cls, status: str, kind: str, *, actor: str, at: datetime, message: str, **more: Any
    ) -> "DeploymentEvent":
        """The event of a change that leaves the deployment in `status`: a traffic share, an alias, a
        rollout's start or end. `more`: its deployment_id (unless attached later), traffic_from/to."""
        return cls(
            kind=kind, from_status=status, to_status=status, actor=actor, at=at, message=message, **more
        )
