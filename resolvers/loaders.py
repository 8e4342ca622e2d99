"""Per-request DataLoaders: each batch is one query in a session of its own.

`deployment` also serves listings: every connection of a response (top-level and one per
training job) finds its page in the snapshot and loads the rows here, so siblings share one
query by primary key."""

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db import aliases, deployments, releases, rollouts, training_jobs
from db.deployments import DeploymentView
from db.engine import Database
from db.models import DeploymentEvent, Rollout, TrainingJob

# Rows one query may return: 100 jobs × 61 nested rows in one go was 0.1–0.2 s of ORM work without
# a pause for the event loop; ~500 rows at a time leave it a turn every ~10 ms (tests/test_starvation.py).
ROWS_PER_QUERY = 500


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.job = DataLoader(self._jobs)
        self.deployment = DataLoader(self._deployments)
        self.events = DataLoader(self._events)
        self.aliases = DataLoader(self._aliases)
        self.model = DataLoader(self._models)  # by model name: a page's models in one query
        self.rollout = DataLoader(self._rollouts)  # by model name: each model's latest rollout

    async def deployments_now(self, ids: Sequence[int]) -> list[DeploymentView | None]:
        """The rows of these ids in one query of their own, past the loader: a top-level page has no
        siblings to batch with, and 50 loads were 50 futures and done-callbacks per request."""
        return await self._deployments(ids)

    async def _jobs(self, ids: Sequence[int]) -> list[TrainingJob | None]:
        # Deleted jobs are included: a deployment's job is shown even after a (refused) race.
        async with self.db.read() as session:
            found = await training_jobs.get_jobs(session=session, ids=ids, include_deleted=True)
        return [found.get(i) for i in ids]

    async def _deployments(self, ids: Sequence[int]) -> list[DeploymentView | None]:
        found: dict[int, DeploymentView] = {}
        async with self.db.read(one_statement=len(ids) <= ROWS_PER_QUERY) as session:
            for start in range(0, len(ids), ROWS_PER_QUERY):
                chunk = ids[start : start + ROWS_PER_QUERY]
                found.update(await deployments.get_deployments(session=session, ids=chunk))
        return [found.get(i) for i in ids]

    async def _events(self, ids: Sequence[int]) -> list[list[DeploymentEvent]]:
        async with self.db.read() as session:
            trails = await deployments.events_of(session=session, deployment_ids=ids)
        return [trails[i] for i in ids]

    async def _aliases(self, ids: Sequence[int]) -> list[list[str]]:
        async with self.db.read() as session:
            found = await aliases.names_of(session=session, deployment_ids=ids)
        return [found[i] for i in ids]

    async def _rollouts(self, names: Sequence[str]) -> list[Rollout | None]:
        async with self.db.read() as session:
            found = await rollouts.latest(session, list(names))
        return [found.get(name) for name in names]

    async def _models(self, names: Sequence[str]) -> list[releases.ModelFacts | None]:
        async with self.db.read() as session:
            found = await releases.models_named(session=session, names=names)
        return [found.get(name) for name in names]
