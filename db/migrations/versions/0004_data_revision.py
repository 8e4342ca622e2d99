"""fleet_state.data_revision: a counter every write transaction bumps (the response cache's key)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fleet_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_revision", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("fleet_state", schema=None) as batch_op:
        batch_op.drop_column("data_revision")
