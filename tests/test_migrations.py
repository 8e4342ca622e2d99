"""Alembic migrations create the schema; the models and the migrations never disagree."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from db import migrate
from db.engine import Database
from db.models import Base, Deployment, DeploymentEvent, TrainingJob
from domain import EventKind
from tests.databases import database_for
from tests.support import ROOT, T0, make_deployment, make_job, running_api


def _schema_diff(conn: Connection) -> list[object]:
    """What the database's schema lacks or has beyond the models' (alembic's autogenerate diff)."""
    return list(
        compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    )


async def test_models_and_migrations_agree(tmp_path: Path) -> None:
    db = Database(await database_for(tmp_path))
    try:
        await db.prepare(migrate=True)

        async with db.write_engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == [], (
                "run `python -m db.migrate --autogenerate MESSAGE`"
            )
            assert await conn.run_sync(migrate.current) == migrate.head()
        await db.prepare(migrate=True)  # idempotent
    finally:
        await db.dispose()


async def test_no_migrate_refuses_a_database_with_pending_migrations(tmp_path: Path) -> None:
    with pytest.raises(migrate.PendingMigrations, match=r"python -m db\.migrate"):
        async with running_api(tmp_path, migrate=False):
            pass  # pragma: no cover


def test_the_migrate_command_then_a_server_that_only_checks(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    out = subprocess.run(
        [sys.executable, "-m", "db.migrate", "--db", db], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert migrate.head() in out.stdout


async def test_server_starts_without_migrating_an_up_to_date_database(tmp_path: Path) -> None:
    async with running_api(tmp_path):
        pass
    async with running_api(tmp_path, migrate=False) as api:
        assert (await api.query("{ deployments { totalCount } }"))["deployments"]["totalCount"] == 0


def _at_0001(model: type[Base]) -> sa.TableClause:
    """`model`'s table as revision 0001 had it: without the folded name."""
    return sa.table(
        model.__tablename__,
        *(sa.column(c.name, c.type) for c in model.__table__.c if c.name != "model_name_folded"),
    )


async def test_migration_0002_folds_the_names_already_stored(tmp_path: Path) -> None:
    # given: a database at revision 0001 holding jobs, deployments and their events
    db = Database(await database_for(tmp_path))
    names = ["ÉCOLE-bot", "Straße-ranker", "plain"]
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate.config(c), "0001"))
            job = dict(
                base_model="LFM2-350M",
                parameter_count=354e6,
                model_size="NANO",
                dataset="d",
                learning_rate=2e-4,
                epochs=3,
                batch_size=16,
                status="COMPLETE",
                progress=1.0,
                created_at=T0,
            )
            await conn.execute(
                _at_0001(TrainingJob).insert(),
                [{**job, "id": i, "model_name": n} for i, n in enumerate(names, 1)],
            )
            await conn.execute(
                _at_0001(Deployment).insert(),
                [
                    dict(
                        id=10 * i + minor,
                        training_job_id=i,
                        model_name=n,
                        version_major=1,
                        version_minor=minor,
                        version_patch=0,
                        status="ACTIVE",
                        endpoint="/e",
                        deployed_by="t",
                        model_size="NANO",
                        created_at=T0 - timedelta(hours=minor),
                        updated_at=T0,
                        activated_at=T0,
                        revision=0,
                    )
                    for i, n in enumerate(names, 1)
                    for minor in range(2)
                ],
            )
            await conn.execute(
                _at_0001(DeploymentEvent).insert(),
                [
                    dict(deployment_id=10 * i, kind="CREATED", to_status="DEPLOYING", actor="t", at=T0)
                    for i in range(1, 4)
                ],
            )
        # when
        await db.prepare(migrate=True)
        async with db.read() as session:
            jobs = (
                await session.execute(sa.select(TrainingJob.model_name, TrainingJob.model_name_folded))
            ).all()
            deps = (
                await session.execute(sa.select(Deployment.model_name, Deployment.model_name_folded))
            ).all()
            events = await session.scalar(
                # (0005 adds a TRAFFIC_CHANGED event to each older ACTIVE version: a standby now)
                sa.select(sa.func.count()).where(DeploymentEvent.kind != "TRAFFIC_CHANGED")
            )
    finally:
        await db.dispose()
    # then: every row got its name's casefold, and nothing else was lost
    assert sorted(jobs) == sorted((n, n.casefold()) for n in names)
    assert sorted(deps) == sorted((n, n.casefold()) for n in names for _ in range(2))
    assert {("ÉCOLE-bot", "école-bot"), ("Straße-ranker", "strasse-ranker")} <= set(deps)
    assert events == 3
    # and the API finds the old rows by their folded names, with a count that agrees
    async with running_api(tmp_path) as api:
        query = '{ deployments(filter: {modelName: "école"}) { totalCount nodes { modelName } } }'
        found = (await api.query(query))["deployments"]
        assert (found["totalCount"], [n["modelName"] for n in found["nodes"]]) == (2, ["ÉCOLE-bot"] * 2)


_AT_0002 = sa.table(
    "deployments",
    *(
        sa.column(name)
        for name in [
            "id",
            "training_job_id",
            "model_name",
            "model_name_folded",
            "version_major",
            "version_minor",
            "version_patch",
            "status",
            "endpoint",
            "deployed_by",
            "model_size",
            "created_at",
            "updated_at",
            "activated_at",
            "deleted_at",
            "revision",
        ]
    ),
)


async def test_migration_0003_gives_every_model_its_own_endpoint(tmp_path: Path) -> None:
    # given: a database at 0002 whose endpoints came from the old slug (ASCII lower-case letters
    # and digits only), so that five models shared two paths
    names = ["ai", "AI", "ΣΊΣΥΦΟΣ-ai", "模型", "モデル"]
    old = ["/api/inference/ai/v1.0.0"] * 3 + ["/api/inference/model/v1.0.0"] * 2
    db = Database(await database_for(tmp_path))
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate.config(c), "0002"))
            job = dict(base_model="LFM2-350M", parameter_count=354e6, model_size="NANO", dataset="d")
            job |= dict(learning_rate=2e-4, epochs=3, batch_size=16, status="COMPLETE", progress=1.0)
            await conn.execute(
                TrainingJob.__table__.insert(),
                [{**job, "id": i, "model_name": n, "created_at": T0} for i, n in enumerate(names, 1)],
            )
            # The columns of 0002 only: Deployment.__table__ has later migrations' columns too.
            await conn.execute(
                _AT_0002.insert(),
                [
                    dict(
                        id=i,
                        training_job_id=i,
                        model_name=n,
                        model_name_folded=n.casefold(),
                        version_major=1,
                        version_minor=0,
                        version_patch=0,
                        status="ACTIVE",
                        endpoint=path,
                        deployed_by="t",
                        model_size="NANO",
                        created_at=T0,
                        updated_at=T0,
                        activated_at=T0,
                        revision=0,
                    )
                    for i, (n, path) in enumerate(zip(names, old, strict=True), 1)
                ],
            )
        # when
        await db.prepare(migrate=True)
        async with db.read() as session:
            rows = dict((await session.execute(sa.select(Deployment.model_name, Deployment.endpoint))).all())
    finally:
        await db.dispose()
    # then: the first model keeps its path, every other gets its own, readable where it can be
    assert rows["ai"] == "/api/inference/ai/v1.0.0"
    assert len(set(rows.values())) == len(names)
    assert rows["AI"].startswith("/api/inference/ai--")
    assert rows["ΣΊΣΥΦΟΣ-ai"] == "/api/inference/sisyfos-ai/v1.0.0"
    assert rows["模型"] == "/api/inference/moxing/v1.0.0"
    async with running_api(tmp_path) as api:
        query = '{ deployments(filter: {modelName: "AI"}, orderBy: [{field: MODEL_NAME}]) { nodes { modelName endpoint } } }'
        served = {n["modelName"]: n["endpoint"] for n in (await api.query(query))["deployments"]["nodes"]}
    assert served == {n: rows[n] for n in ("ai", "AI", "ΣΊΣΥΦΟΣ-ai")}


async def test_migration_0005_gives_each_model_s_newest_active_version_all_its_traffic(
    tmp_path: Path,
) -> None:
    # given: a database at 0004 with two models: one with three versions (two ACTIVE, one PAUSED),
    # one whose newest ACTIVE version was deleted
    db = Database(await database_for(tmp_path))
    rows = [  # id, model, minor, status, deleted
        (1, "a", 0, "ACTIVE", False),
        (2, "a", 1, "ACTIVE", False),
        (3, "a", 2, "PAUSED", False),
        (4, "b", 0, "ACTIVE", False),
        (5, "b", 1, "PAUSED", True),
    ]
    try:
        async with db.write_engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate.config(c), "0004"))
            job = dict(base_model="LFM2-350M", parameter_count=354e6, model_size="NANO", dataset="d")
            job |= dict(learning_rate=2e-4, epochs=3, batch_size=16, status="COMPLETE", progress=1.0)
            await conn.execute(
                TrainingJob.__table__.insert(), [{**job, "id": 1, "model_name": "a", "created_at": T0}]
            )
            await conn.execute(
                _AT_0002.insert(),
                [
                    dict(
                        id=i,
                        training_job_id=1,
                        model_name=name,
                        model_name_folded=name,
                        version_major=1,
                        version_minor=minor,
                        version_patch=0,
                        status=status,
                        endpoint=f"/api/inference/{name}/v1.{minor}.0",
                        deployed_by="t",
                        model_size="NANO",
                        created_at=T0,
                        updated_at=T0,
                        activated_at=T0,
                        deleted_at=T0 if deleted else None,
                        revision=0,
                    )
                    for i, name, minor, status, deleted in rows
                ],
            )
        # when
        await db.prepare(migrate=True)
        async with db.read() as session:
            shares = dict((await session.execute(sa.select(Deployment.id, Deployment.traffic_percent))).all())
            events = (
                await session.execute(
                    sa.select(
                        DeploymentEvent.deployment_id,
                        DeploymentEvent.kind,
                        DeploymentEvent.traffic_from,
                        DeploymentEvent.traffic_to,
                    )
                )
            ).all()
    finally:
        await db.dispose()
    # then: the newest ACTIVE version holds all of its model's traffic; the older one stands by,
    # and its trail says when it gave its own traffic up
    assert shares == {1: 0.0, 2: 100.0, 3: 0.0, 4: 100.0, 5: 0.0}
    assert [tuple(e) for e in events] == [(1, "TRAFFIC_CHANGED", 100.0, 0.0)]


async def test_downgrading_past_the_release_migrations_drops_their_events_and_upgrading_again_restores_the_schema(
    tmp_path: Path,
) -> None:
    # given: a database at head with a deployment whose trail has an alias and a rollout event
    db = Database(await database_for(tmp_path))
    try:
        await db.prepare(migrate=True)
        async with db.write() as session:
            dep = await make_deployment(session, make_job(session))
            for kind in (EventKind.ALIAS_SET, EventKind.ROLLOUT_STARTED):
                session.add(
                    DeploymentEvent.staying(
                        "ACTIVE", kind, deployment_id=dep.id, actor="t", at=T0, message=kind
                    )
                )
        # when: downgraded to 0005 (before aliases and rollouts)
        async with db.write_engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(migrate.config(c), "0005"))
        # then: the two later kinds' events are gone, the rest of the trail stays, and the kinds'
        # CHECK refuses them again
        async with db.write_engine.begin() as conn:
            kinds = (await conn.execute(sa.text("SELECT kind FROM deployment_events ORDER BY id"))).scalars()
            assert list(kinds) == ["CREATED", "ACTIVATED"]
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            assert "model_aliases" not in tables and "rollouts" not in tables
        insert = sa.text(
            "INSERT INTO deployment_events (deployment_id, kind, actor, at) VALUES (:d, :k, 't', :at)"
        )
        async with db.write_engine.begin() as conn:  # an older kind is still allowed
            await conn.execute(insert, {"d": dep.id, "k": "PAUSED", "at": T0})
        with pytest.raises(sa.exc.IntegrityError, match=r"ck_kind_valid|CHECK"):
            async with db.write_engine.begin() as conn:
                await conn.execute(insert, {"d": dep.id, "k": "ALIAS_SET", "at": T0})
        # when: upgraded again, the schema is the models' once more
        await db.prepare(migrate=True)
        async with db.write_engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await db.dispose()
