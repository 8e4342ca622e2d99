"""Per-request limits enforced by the schema: cost, depth, aliases, tokens, batch size, introspection."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from domain import Code
from resolvers.errors import ApiError
from schema import yielding
from schema.cost import operation_cost
from schema.permissions import IntrospectionAccess
from schema.request_errors import RequestErrors


@dataclass(frozen=True)
class Limits:
    """Defaults a real dashboard never hits; each is a setting (see server.py)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_batch: int = 10
    max_cost: int = 100_000  # see schema/cost.py: a 100-row table with a 24-hour sparkline per row fits
    heavy_cost: int = 10_000  # operations costing this much run one at a time (see CostLimiter)
    introspection: bool = True


def expected_error(error: GraphQLError) -> bool:
    original = error.original_error
    return original is None or isinstance(original, ApiError | GraphQLError | PermissionError)


class _MaskUnexpected(MaskErrors):
    """Unexpected exceptions reach the client as a generic error carrying the request id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not expected_error(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request = getattr(context, "request", None)
        request_id = getattr(getattr(request, "state", None), "request_id", None) or "unknown"
        return GraphQLError(
            message=f"Internal server error; quote request id {request_id} when reporting it",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": Code.INTERNAL_SERVER_ERROR, "requestId": request_id},
        )


class Charge(Protocol):
    allowed: bool
    remaining: int
    retry_after: int

    def extension(self) -> dict[str, object]: ...


class ClientBudget(Protocol):
    """What the web layer puts in the context as `budget`: the calling client's cost budget."""

    refill_per_second: float

    def charge(self, cost: int) -> Charge: ...

    def extension(self) -> dict[str, object]: ...


class CostLimiter(SchemaExtension):
    """Refuses an operation whose computed cost is over the limit, or over what its client's budget
    holds, before it runs; reports the cost (`extensions.cost`) and the budget (`extensions.rateLimit`)."""

    def __init__(self, limit: int, heavy: int) -> None:
        self.limit = limit
        self.heavy = heavy
        self.requested: int | None = None
        self.charge: Charge | None = None

    def _budget(self) -> ClientBudget | None:
        budget: Any = getattr(self.execution_context.context, "budget", None)
        return budget

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.result is not None:  # refused already (RequestErrors): nothing to price or charge
            yield
            return
        assert context.graphql_document is not None
        fleet_cache = getattr(context.context, "fleet_cache", None)
        self.requested = operation_cost(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            context.variables,
            fleet_size=fleet_cache.size if fleet_cache is not None else 0,
        )
        # A batch is charged the sum of its operations: ten operations just under the budget are
        # ten times the work, so they share one budget per HTTP request.
        state = getattr(getattr(context.context, "request", None), "state", None)
        spent = getattr(state, "cost_spent", 0) if state is not None else 0
        if spent + self.requested > self.limit:
            batch = f" (with the {spent:,} of the batch's earlier operations)" if spent else ""
            context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        f"This query costs {self.requested:,}{batch}, over the budget of {self.limit:,} "
                        "(max_cost): ask for smaller pages, fewer nested connections or shorter histories",
                        extensions={
                            "code": Code.COST_LIMIT_EXCEEDED,
                            "cost": self.requested + spent,
                            "limit": self.limit,
                        },
                    )
                ],
            )
        else:
            budget = self._budget()
            self.charge = budget.charge(self.requested) if budget is not None else None
            if budget is not None and self.charge is not None and not self.charge.allowed:
                context.result = GraphQLExecutionResult(data=None, errors=[self._throttled(budget)])
            elif state is not None:
                state.cost_spent = spent + self.requested
        if context.result is None and self.requested >= self.heavy:
            # Expensive operations take turns. Each fans out into hundreds of tasks that the event loop
            # runs first-come first-served; several at once put seconds of work ahead of every cheap
            # request's next step. One at a time, and yielding (schema/yielding.py), they stay behind it.
            turned_heavy = getattr(state, "turned_heavy", None)
            if callable(turned_heavy):
                turned_heavy()  # the request no longer counts as a cheap one waiting for its turn
            async with _heavy_turn():
                with yielding.heavy():
                    yield
            return
        yield

    def _throttled(self, budget: ClientBudget) -> GraphQLError:
        assert self.charge is not None and self.requested is not None
        return GraphQLError(
            f"This query costs {self.requested:,} and your budget holds {self.charge.remaining:,} now; it "
            f"regains {budget.refill_per_second:,g} per second: retry after {self.charge.retry_after} s",
            extensions={
                "code": Code.RATE_LIMITED,
                "cost": self.requested,
                "remaining": self.charge.remaining,
                "retryAfter": self.charge.retry_after,
            },
        )

    def get_results(self) -> dict[str, object]:
        results: dict[str, object] = {}
        if self.requested is not None:
            results["cost"] = {"requested": self.requested, "limit": self.limit}
        budget = self._budget()
        if budget is not None:
            results["rateLimit"] = self.charge.extension() if self.charge else budget.extension()
        return results


_TURNS: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _heavy_turn() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    turn = _TURNS.get(loop)
    if turn is None:
        for stale in [other for other in _TURNS if other.is_closed()]:
            del _TURNS[stale]
        turn = _TURNS[loop] = asyncio.Semaphore(1)
    return turn


def extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Extension factories; validation rules are built once so ValidationCache keeps working."""
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        RequestErrors,
        lambda: CostLimiter(limits.max_cost, limits.heavy_cost),
        IntrospectionAccess,
        _MaskUnexpected,
    ]
