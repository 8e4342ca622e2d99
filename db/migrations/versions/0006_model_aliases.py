"""model_aliases: protected, named pointers to one version of a model; ALIAS_SET / ALIAS_REMOVED events

Created 2026-12-02 16:00 UTC.
"""

import sqlalchemy as sa
from alembic import op

import db.types
from db.migration_steps import add_event_kinds, remove_event_kinds

revision: str = "0006"
down_revision: str | None = "0005"

_KINDS_BEFORE = ("CREATED", "ACTIVATED", "PAUSED", "RESUMED", "FAILED", "DELETED", "TRAFFIC_CHANGED")
_ADDED = ("ALIAS_SET", "ALIAS_REMOVED")


def upgrade() -> None:
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", db.types.Name, nullable=False),
        sa.Column("alias", sa.String(length=40), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_name", "alias", name="uq_alias"),
    )
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_model_aliases_deployment", ["deployment_id"], unique=False)
    add_event_kinds(_KINDS_BEFORE, _ADDED)


def downgrade() -> None:
    remove_event_kinds(_KINDS_BEFORE, _ADDED)
    op.drop_table("model_aliases")  # its index goes with it
