"""model_name_folded: names folded for case-insensitive filters

Created 2026-12-01 22:40 UTC.
"""

import sqlalchemy as sa
from alembic import op

from db.folding import fold
from db.types import FoldedName

revision: str = "0002"
down_revision: str | None = "0001"

_TABLES = ("training_jobs", "deployments")
# No index: filters match anywhere in the name (LIKE '%…%'), which a B-tree cannot serve.


def upgrade() -> None:
    for name in _TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("model_name_folded", FoldedName, nullable=True))
        # Backfill in Python: neither database's lower() folds like str.casefold.
        table = sa.table(name, sa.column("model_name", sa.String), sa.column("model_name_folded", sa.String))
        bind = op.get_bind()
        names = bind.execute(sa.select(table.c.model_name).distinct()).scalars().all()
        if names:
            bind.execute(
                table.update()
                .where(table.c.model_name == sa.bindparam("name"))
                .values(model_name_folded=sa.bindparam("folded")),
                [{"name": n, "folded": fold(n)} for n in names],
            )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("model_name_folded", existing_type=FoldedName, nullable=False)


def downgrade() -> None:
    for name in reversed(_TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("model_name_folded")
