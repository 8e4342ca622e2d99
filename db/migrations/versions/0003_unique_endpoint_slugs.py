"""endpoints: one slug per model name (AI, ai and ΣΊΣΥΦΟΣ-ai no longer share /api/inference/ai/…)

Created 2026-12-01 23:00 UTC.
"""

import sqlalchemy as sa
from alembic import op

from db import endpoints

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    # Models take slugs in the order they were first deployed, as new deployments do now: the
    # first keeps the readable slug (so clean names keep their endpoints), later clashes get a hash.
    bind = op.get_bind()
    t = sa.Table("deployments", sa.MetaData(), autoload_with=bind)  # as it is at this revision
    versions = (t.c.version_major, t.c.version_minor, t.c.version_patch)
    rows = bind.execute(sa.select(t.c.id, t.c.model_name, *versions, t.c.endpoint).order_by(t.c.id)).all()
    holders: dict[str, str] = {}  # readable slug -> the model name that holds it
    slugs: dict[str, str] = {}  # model name -> its slug
    for r in rows:
        if r.model_name not in slugs:
            slug = endpoints.choose(r.model_name, holders.get(endpoints.readable(r.model_name)))
            holders.setdefault(endpoints.readable(r.model_name), r.model_name)
            slugs[r.model_name] = slug
    changed = [
        {"row_id": r.id, "endpoint": new}
        for r in rows
        if (new := endpoints.path(slugs[r.model_name], *r[2:5])) != r.endpoint
    ]
    if changed:
        bind.execute(
            t.update().where(t.c.id == sa.bindparam("row_id")).values(endpoint=sa.bindparam("endpoint")),
            changed,
        )


def downgrade() -> None:
    pass  # the old endpoints were ambiguous; nothing worth restoring
