"""Demo data looks like a real team's: every status, several versions per model, consistent trails."""

import itertools
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from db.models import Deployment, DeploymentEvent, TrainingJob
from tests.support import running_api


async def test_demo_data_covers_every_status_with_consistent_audit_trails(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        async with api.db.read() as s:
            jobs = (await s.scalars(select(TrainingJob))).all()
            deps = (await s.scalars(select(Deployment))).all()
            events = (
                await s.scalars(select(DeploymentEvent).order_by(DeploymentEvent.at, DeploymentEvent.id))
            ).all()
        # then: a few dozen jobs in every status, with plausible fields
        assert 25 <= len(jobs) <= 60
        assert set(Counter(j.status for j in jobs)) == {
            "QUEUED",
            "RUNNING",
            "COMPLETE",
            "FAILED",
            "CANCELLED",
        }
        assert {j.model_size for j in jobs} == {"NANO", "SMALL", "LARGE"}
        for job in jobs:
            assert (job.final_loss is not None) == (job.status == "COMPLETE")
            assert (job.started_at is None) == (job.status == "QUEUED")
            assert 0 <= job.progress <= 1
        # deployments in every status, several versions per model, ages spread over weeks
        live = [d for d in deps if d.deleted_at is None]
        assert {d.status for d in live} == {"DEPLOYING", "ACTIVE", "PAUSED", "FAILED"}
        assert max(Counter(d.model_name for d in deps).values()) >= 3
        ages = sorted(d.created_at for d in deps)
        assert (ages[-1] - ages[0]).days >= 14
        assert len({(d.model_name, d.version) for d in deps}) == len(deps)
        # each trail starts with CREATED and its last status change matches the deployment
        for dep in deps:
            trail = [e for e in events if e.deployment_id == dep.id]
            assert trail[0].kind == "CREATED"
            changes = [e for e in trail if e.to_status is not None]
            assert changes[-1].to_status == dep.status
            for before, after in itertools.pairwise(changes):
                assert after.from_status == before.to_status
            assert (trail[-1].kind == "DELETED") == (dep.deleted_at is not None)
        # and the API serves it
        data = await api.query("{ deployments(first: 100) { totalCount } trainingJobs { totalCount } }")
        assert data["deployments"]["totalCount"] == len(live)


async def test_demo_is_loaded_only_into_an_empty_database(tmp_path: Path) -> None:
    async with running_api(tmp_path, demo=True) as api:
        first = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    async with running_api(tmp_path, demo=True) as api:
        again = (await api.query("{ trainingJobs { totalCount } }"))["trainingJobs"]["totalCount"]
    assert first == again > 0
