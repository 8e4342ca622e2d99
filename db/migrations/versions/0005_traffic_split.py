"""deployments.traffic_percent: each version's share of its model's traffic; TRAFFIC_CHANGED events

The newest ACTIVE version of each model takes 100 %, the other ACTIVE ones 0 % (standbys), as
activating a version does from now on; until now every version had traffic of its own, so each
new standby's trail says it gave its traffic up here (a TRAFFIC_CHANGED event, from which the
simulator stops its traffic). Event kinds grow past ten characters, and a traffic event keeps the
share before and after it.

Created 2026-12-02 15:10 UTC.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime, one_of

revision: str = "0005"
down_revision: str | None = "0004"

# The kinds as they are at this revision (migrations keep the values they were written with).
_KINDS_BEFORE = ("CREATED", "ACTIVATED", "PAUSED", "RESUMED", "FAILED", "DELETED")
_KINDS = (*_KINDS_BEFORE, "TRAFFIC_CHANGED")


def upgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traffic_percent", sa.Float(), server_default="0", nullable=False))
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_kind_valid", type_="check")
        batch_op.alter_column("kind", existing_type=sa.String(length=10), type_=sa.String(length=20))
        batch_op.add_column(sa.Column("traffic_from", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("traffic_to", sa.Float(), nullable=True))
        batch_op.create_check_constraint("ck_kind_valid", one_of("kind", _KINDS))
    # The tables as they are now (reflected); `at` keeps its UTC handling on either database.
    bind = op.get_bind()
    t = sa.Table("deployments", sa.MetaData(), autoload_with=bind)
    events = sa.Table("deployment_events", sa.MetaData(), sa.Column("at", UTCDateTime()), autoload_with=bind)
    rows = bind.execute(
        sa.select(t.c.id, t.c.model_name, t.c.version_major, t.c.version_minor, t.c.version_patch).where(
            t.c.status == "ACTIVE", t.c.deleted_at.is_(None)
        )
    ).all()
    newest: dict[str, tuple[tuple[int, int, int], int]] = {}
    for r in rows:
        version = (r.version_major, r.version_minor, r.version_patch)
        if r.model_name not in newest or version > newest[r.model_name][0]:
            newest[r.model_name] = (version, r.id)
    if newest:
        bind.execute(
            t.update().where(t.c.id == sa.bindparam("row_id")).values(traffic_percent=100.0),
            [{"row_id": row_id} for _, row_id in newest.values()],
        )
    holders = {row_id for _, row_id in newest.values()}
    standbys = [r for r in rows if r.id not in holders]
    if standbys:
        now = datetime.now(UTC)
        bind.execute(
            events.insert(),
            [
                dict(
                    deployment_id=r.id,
                    kind="TRAFFIC_CHANGED",
                    from_status="ACTIVE",
                    to_status="ACTIVE",
                    actor="system",
                    message="Traffic 100 % → 0 %: a newer ACTIVE version takes the model's traffic",
                    at=now,
                    traffic_from=100.0,
                    traffic_to=0.0,
                )
                for r in standbys
            ],
        )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM deployment_events WHERE kind = 'TRAFFIC_CHANGED'"))
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_kind_valid", type_="check")
        batch_op.drop_column("traffic_to")
        batch_op.drop_column("traffic_from")
        batch_op.alter_column("kind", existing_type=sa.String(length=20), type_=sa.String(length=10))
        batch_op.create_check_constraint("ck_kind_valid", one_of("kind", _KINDS_BEFORE))
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("traffic_percent")
