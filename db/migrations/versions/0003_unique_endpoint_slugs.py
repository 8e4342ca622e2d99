"""endpoints: one slug per model name (AI, ai and ΣΊΣΥΦΟΣ-ai no longer share /api/inference/ai/…)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.endpoints import endpoint

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEPLOYMENTS = sa.table(
    "deployments",
    sa.column("id", sa.Integer),
    sa.column("model_name", sa.String),
    sa.column("version_major", sa.Integer),
    sa.column("version_minor", sa.Integer),
    sa.column("version_patch", sa.Integer),
    sa.column("endpoint", sa.String),
)


def upgrade() -> None:
    # Names that already were clean slugs keep their endpoints; only shared ones change.
    t = _DEPLOYMENTS
    bind = op.get_bind()
    versions = (t.c.version_major, t.c.version_minor, t.c.version_patch)
    rows = bind.execute(sa.select(t.c.id, t.c.model_name, *versions, t.c.endpoint)).all()
    changed = [
        {"row_id": r.id, "path": path}
        for r in rows
        if (path := endpoint(r.model_name, r.version_major, r.version_minor, r.version_patch)) != r.endpoint
    ]
    if changed:
        bind.execute(
            t.update().where(t.c.id == sa.bindparam("row_id")).values(endpoint=sa.bindparam("path")), changed
        )


def downgrade() -> None:
    pass  # the old endpoints were ambiguous; nothing worth restoring
