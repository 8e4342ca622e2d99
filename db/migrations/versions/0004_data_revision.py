"""fleet_state.data_revision: a counter every write transaction bumps (the response cache's key)

Created 2026-12-02 03:30 UTC.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    with op.batch_alter_table("fleet_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_revision", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("fleet_state", schema=None) as batch_op:
        batch_op.drop_column("data_revision")
