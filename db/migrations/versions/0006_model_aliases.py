"""model_aliases: protected, named pointers to one version of a model; ALIAS_SET / ALIAS_REMOVED events

Created 2026-12-02 16:00 UTC.
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"

_KINDS_BEFORE = ("CREATED", "ACTIVATED", "PAUSED", "RESUMED", "FAILED", "DELETED", "TRAFFIC_CHANGED")
_KINDS = (*_KINDS_BEFORE, "ALIAS_SET", "ALIAS_REMOVED")
_NAME = sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN ({})".format(", ".join(f"'{k}'" for k in kinds))


def upgrade() -> None:
    op.create_table(
        "model_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", _NAME, nullable=False),
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
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_kind_valid", type_="check")
        batch_op.create_check_constraint("ck_kind_valid", _kinds(_KINDS))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM deployment_events WHERE kind IN ('ALIAS_SET', 'ALIAS_REMOVED')"))
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_kind_valid", type_="check")
        batch_op.create_check_constraint("ck_kind_valid", _kinds(_KINDS_BEFORE))
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.drop_index("ix_model_aliases_deployment")
    op.drop_table("model_aliases")
