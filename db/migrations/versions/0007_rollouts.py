"""rollouts: progressive (CANARY, LINEAR) rollouts of a version; ROLLOUT_STARTED / ROLLOUT_PROMOTED /
ROLLED_BACK events

Created 2026-12-02 16:30 UTC.
"""

import sqlalchemy as sa
from alembic import op

import db.types
from db.migration_steps import add_event_kinds, remove_event_kinds

revision: str = "0007"
down_revision: str | None = "0006"

_KINDS_BEFORE = (
    "CREATED",
    "ACTIVATED",
    "PAUSED",
    "RESUMED",
    "FAILED",
    "DELETED",
    "TRAFFIC_CHANGED",
    "ALIAS_SET",
    "ALIAS_REMOVED",
)
_ADDED = ("ROLLOUT_STARTED", "ROLLOUT_PROMOTED", "ROLLED_BACK")


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", db.types.Name, nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("step_percent", sa.Float(), nullable=False),
        sa.Column("bake_seconds", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_step_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("before_split", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.CheckConstraint("strategy IN ('ALL_AT_ONCE', 'CANARY', 'LINEAR')", name="ck_strategy_valid"),
        sa.CheckConstraint("state IN ('BAKING', 'PROMOTED', 'ROLLED_BACK')", name="ck_state_valid"),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rollouts", schema=None) as batch_op:
        batch_op.create_index("ix_rollouts_model", ["model_name", "id"], unique=False)
        batch_op.create_index("ix_rollouts_state_due", ["state", "next_step_at"], unique=False)
    add_event_kinds(_KINDS_BEFORE, _ADDED)


def downgrade() -> None:
    remove_event_kinds(_KINDS_BEFORE, _ADDED)
    op.drop_table("rollouts")  # its indexes go with it
