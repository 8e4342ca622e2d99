"""Steps several migrations take (db/migrations/versions): the event kinds' CHECK as the kinds grow.

Each migration names the kinds as they are at its revision, so a later change of domain.EventKind
does not rewrite history; only the mechanics live here.
"""

import sqlalchemy as sa
from alembic import op

from db.types import one_of


def add_event_kinds(before: tuple[str, ...], added: tuple[str, ...]) -> None:
    """An upgrade's: the kinds' CHECK allows the `added` kinds besides those `before`."""
    _allow_event_kinds((*before, *added))


def remove_event_kinds(before: tuple[str, ...], added: tuple[str, ...]) -> None:
    """Its downgrade: delete the events of the `added` kinds, then allow only those `before`."""
    op.execute(sa.text(f"DELETE FROM deployment_events WHERE {one_of('kind', added)}"))
    _allow_event_kinds(before)


def _allow_event_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("deployment_events", schema=None) as batch_op:
        batch_op.drop_constraint("ck_kind_valid", type_="check")
        batch_op.create_check_constraint("ck_kind_valid", one_of("kind", kinds))
