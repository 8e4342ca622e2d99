"""Per-request DataLoaders: each batch is one query in a session of its own."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from db import deployments, paging, training_jobs
from db.engine import Database
from db.models import Deployment, DeploymentEvent, TrainingJob

# (job id, filter, order, page): nested connections with the same arguments share one query.
JobPageKey = tuple[int, deployments.DeploymentFilter, paging.Order, paging.PageRequest]
JobCountKey = tuple[int, deployments.DeploymentFilter]
# Jobs whose pages load in one query: 100 jobs × 61 rows in one go was 0.1–0.2 s of ORM work without
# a pause for the event loop; ten jobs at a time leave it a turn between queries.
JOBS_PER_QUERY = 10


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.job = DataLoader(self._jobs)
        self.deployment = DataLoader(self._deployments)
        self.events = DataLoader(self._events)
        self.job_deployments = DataLoader(self._job_deployments)
        self.job_deployment_count = DataLoader(self._job_deployment_counts)

    async def _jobs(self, ids: Sequence[int]) -> list[TrainingJob | None]:
        # Deleted jobs are included: a deployment's job is shown even after a (refused) race.
        async with self.db.read() as session:
            found = await training_jobs.get_jobs(session=session, ids=ids, include_deleted=True)
        return [found.get(i) for i in ids]

    async def _deployments(self, ids: Sequence[int]) -> list[Deployment | None]:
        async with self.db.read() as session:
            found = await deployments.get_deployments(session=session, ids=ids)
        return [found.get(i) for i in ids]

    async def _events(self, ids: Sequence[int]) -> list[list[DeploymentEvent]]:
        async with self.db.read() as session:
            trails = await deployments.events_of(session=session, deployment_ids=ids)
        return [trails[i] for i in ids]

    async def _job_deployments(self, keys: Sequence[JobPageKey]) -> list[paging.Page[Deployment]]:
        groups: dict[Any, list[int]] = defaultdict(list)
        for job_id, *args in keys:
            groups[tuple(args)].append(job_id)
        pages: dict[JobPageKey, paging.Page[Deployment]] = {}
        async with self.db.read() as session:
            for (flt, order, page), job_ids in groups.items():
                for start in range(0, len(job_ids), JOBS_PER_QUERY):
                    chunk = job_ids[start : start + JOBS_PER_QUERY]
                    found = await deployments.list_deployments_by_job(
                        session=session, job_ids=chunk, flt=flt, order=order, page=page
                    )
                    pages.update({(i, flt, order, page): found[i] for i in chunk})
        return [pages[key] for key in keys]

    async def _job_deployment_counts(self, keys: Sequence[JobCountKey]) -> list[int]:
        groups: dict[deployments.DeploymentFilter, list[int]] = defaultdict(list)
        for job_id, flt in keys:
            groups[flt].append(job_id)
        counts: dict[JobCountKey, int] = {}
        async with self.db.read() as session:
            for flt, job_ids in groups.items():
                found = await deployments.count_deployments_by_job(session=session, job_ids=job_ids, flt=flt)
                counts.update({(i, flt): found[i] for i in job_ids})
        return [counts[key] for key in keys]
