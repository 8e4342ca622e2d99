"""The per-request context: one clock reading, the database, the fleet, and DataLoaders."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from db.engine import Database
from resolvers.loaders import Loaders
from resolvers.metrics import FiguresLoader
from resolvers.snapshot import FleetCache, Snapshot

if TYPE_CHECKING:  # only its type: the settings module sits above the resolvers
    from settings import Settings


@dataclass
class Context:
    db: Database
    fleet_cache: FleetCache
    now: datetime  # read once per request: every figure in a response is for this instant
    settings: "Settings"  # the server's, as they were read at start
    actor: str = "anonymous"  # the API token's name, or "anonymous" when none are configured
    may_read: bool = True
    may_write: bool = True
    request: Any = None
    response: Any = None
    # The fleet revision this request read at its start (with the settler's check), if it did: its
    # snapshot is then checked against it instead of with a query of its own.
    known_revision: int | None = None
    # Else, when it can: the revision a settling check started after the request read, shared by the
    # requests reading the fleet together (None when that check is behind a write: read it here).
    fresh_revision: Callable[[], Awaitable[int | None]] | None = None
    loaders: Loaders = field(init=False)
    figures: FiguresLoader = field(init=False)
    _snapshot: asyncio.Task[Snapshot] | None = field(init=False, default=None)
    # A field read `now` finer than the metrics window (serverTime, a running job's progress): the
    # result is for this instant only, so the response cache must not keep it.
    instant_used: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)
        self.figures = FiguresLoader(self.snapshot)

    async def snapshot(self) -> Snapshot:
        """The fleet as this request sees it: taken at first use, then fixed for the request."""
        # One task shared by every resolver: sibling fields resolve concurrently, and each checking
        # the fleet revision itself cost one query per row (100 for a table with a chart per row).
        if self._snapshot is None:
            self._snapshot = asyncio.ensure_future(self._take())
        return await self._snapshot

    async def _take(self) -> Snapshot:
        revision = self.known_revision
        if revision is None and self.fresh_revision is not None:
            revision = await self.fresh_revision()
        return await self.fleet_cache.current(self.db, revision)

    @property
    def rollout_seconds(self) -> float:
        return self.settings.rollout_seconds

    @property
    def training_time_scale(self) -> float:
        return self.settings.training_time_scale

    def exact_now(self) -> datetime:
        """`now`, for a value that moves with the instant rather than the window."""
        self.instant_used = True
        return self.now

    def wrote(self) -> None:
        """A mutation committed: later fields of this response see its effect."""
        self._snapshot = None
        self.known_revision = None  # the write moved it
        self.fresh_revision = None  # a check started before the commit could miss it
        self.loaders = Loaders(self.db)
        self.figures = FiguresLoader(self.snapshot)
