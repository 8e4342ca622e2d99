"""Which cost budget a request draws on, and the refusal before anything runs when it is spent."""

from cross_web import HTTPException

from web.ratelimit import AUTH_FAILURE_COST, Charge, RateLimiter, RequestBudget


class Throttled(HTTPException):
    """The client's budget is spent: 429 before anything is parsed."""

    def __init__(self, charge: Charge, reason: str) -> None:
        super().__init__(429, reason)
        self.charge = charge


def client_budget(limiter: RateLimiter, address: str, actor: str | None, failed_auth: bool) -> RequestBudget:
    """The client's budget: its token's, else its address's; spent ones refuse the request here."""
    if failed_auth:  # charged to the address: a wrong token is no way to a fresh bucket
        charge = limiter.charge(f"address:{address}", AUTH_FAILURE_COST)
        if not charge.allowed:
            raise Throttled(charge, "Too many failed authentications from this address; slow down")
    budget = RequestBudget(limiter, f"token:{actor}" if actor else f"address:{address}")
    held = limiter.charge(budget.key, 0)
    if held.remaining < 1:
        refused = limiter.charge(budget.key, 1)  # nothing left: the wait for one unit
        raise Throttled(refused, "Your cost budget is spent; retry after the Retry-After seconds")
    return budget
