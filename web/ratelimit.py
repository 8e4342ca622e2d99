"""Per-client cost budgets: a leaky bucket of cost units per API token, or per address when anonymous.

Like Shopify's calculated-cost throttle: a bucket holds up to `capacity` units and refills at
`refill_per_second`; an operation runs only when its computed cost (schema/cost.py) fits what
the bucket holds, and then that cost is taken out. A failed authentication costs
AUTH_FAILURE_COST from the sender's address bucket, so guessing tokens is throttled too.
Buckets live in the process: each replica keeps its own.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

AUTH_FAILURE_COST = 10_000  # a tenth of the most expensive query: a token guesser gets ~1 try per second
_MAX_BUCKETS = 100_000  # beyond this, full buckets (which hold nothing worth keeping) are dropped


@dataclass(frozen=True)
class Budget:
    """Defaults a polling dashboard never reaches; a loop of max-cost queries spends them in seconds."""

    capacity: int = 1_000_000  # ten operations at the default max_cost, back to back
    refill_per_second: float = 10_000.0  # an 85,000-cost sparkline table every 10 s stays within it

    @property
    def enabled(self) -> bool:
        return self.capacity > 0


@dataclass
class _Bucket:
    level: float
    at: float  # clock seconds when `level` was measured


@dataclass(frozen=True)
class Charge:
    """The outcome of asking a bucket for `cost`: taken, or refused with the wait until it would fit."""

    allowed: bool
    cost: int
    remaining: int
    reset_at: datetime  # when the bucket is full again
    retry_after: int = 0  # whole seconds until the refused cost fits; 0 when allowed

    def extension(self) -> dict[str, object]:
        return {"cost": self.cost, "remaining": self.remaining, "resetAt": self.reset_at.isoformat()}


class RateLimiter:
    def __init__(self, budget: Budget, clock: Callable[[], datetime]) -> None:
        self.budget = budget
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _level(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return float(self.budget.capacity)
        refilled = bucket.level + max(0.0, now - bucket.at) * self.budget.refill_per_second
        return min(float(self.budget.capacity), refilled)

    def charge(self, key: str, cost: int) -> Charge:
        """Take `cost` from `key`'s bucket if it holds that much; otherwise take nothing."""
        instant = self.clock()
        now = instant.timestamp()
        level = self._level(key, now)
        allowed = cost <= level
        if allowed and cost:
            level -= cost
            self._store(key, level, now)
        wait = 0 if allowed else math.ceil((cost - level) / self.budget.refill_per_second)
        return Charge(
            allowed=allowed,
            cost=cost if allowed else 0,
            remaining=math.floor(level),
            reset_at=_after(instant, (self.budget.capacity - level) / self.budget.refill_per_second),
            retry_after=max(1, wait) if not allowed else 0,
        )

    def _store(self, key: str, level: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= _MAX_BUCKETS:
            full = [k for k in self._buckets if self._level(k, now) >= self.budget.capacity]
            for stale in full:
                del self._buckets[stale]
        self._buckets[key] = _Bucket(level, now)


def _after(instant: datetime, seconds: float) -> datetime:
    moment = datetime.fromtimestamp(instant.timestamp() + math.ceil(seconds), UTC)
    return moment.replace(microsecond=0)


class RequestBudget:
    """One request's view of its client's bucket (schema/limits.py's ClientBudget)."""

    def __init__(self, limiter: RateLimiter, key: str) -> None:
        self.limiter = limiter
        self.key = key
        self.refill_per_second = limiter.budget.refill_per_second
        self.ran = 0  # operations the bucket paid for
        self.refused: Charge | None = None

    def charge(self, cost: int) -> Charge:
        charge = self.limiter.charge(self.key, cost)
        if charge.allowed:
            self.ran += 1
        else:
            self.refused = charge
        return charge

    def extension(self) -> dict[str, object]:
        """`extensions.rateLimit` of a response that ran nothing: what the bucket holds."""
        return self.limiter.charge(self.key, 0).extension()

    @property
    def throttled(self) -> Charge | None:
        """The refusal, when the budget stopped every operation of the request (an HTTP 429)."""
        return self.refused if self.ran == 0 else None
