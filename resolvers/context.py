"""The per-request context: one clock reading, the database, and the request's DataLoaders."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db.engine import Database
from resolvers.loaders import Loaders


@dataclass
class Context:
    db: Database
    now: datetime  # read once per request: every figure in a response is for this instant
    rollout_seconds: float
    actor: str = "anonymous"
    request: Any = None
    response: Any = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)
