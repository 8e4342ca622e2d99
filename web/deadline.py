"""The per-request deadline: execution past it is cancelled and answered with a TIMEOUT error.

Each operation runs under `asyncio.timeout` at the request's deadline (operations of a batch share
it). Cancelling unwinds whatever is awaiting: an open transaction rolls back as its `async with`
exits. Only a commit is never cut: while one is in flight the deadline waits for it (up to a grace
period), so a mutation is either rolled back or committed, never left to guess about. CPU-bound
stretches end at the next point where execution yields (schema/yielding.py).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from graphql import GraphQLError

from domain import Code

_current: ContextVar[asyncio.Timeout | None] = ContextVar("deadline", default=None)


@asynccontextmanager
async def bounded(when: float) -> AsyncIterator[asyncio.Timeout]:
    """Run the block until `when` (event-loop time); on expiry the block's exit raises TimeoutError."""
    async with asyncio.timeout_at(when) as timeout:
        token = _current.set(timeout)
        try:
            yield timeout
        finally:
            _current.reset(token)


class CommitHold:
    """Postpones the current deadline while a commit runs; `release` puts it back (firing it if due)."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._timeout: asyncio.Timeout | None = None
        self._when: float | None = None

    def hold(self) -> None:
        timeout = _current.get()
        if timeout is None or timeout.expired() or timeout.when() is None:
            return
        self._timeout, self._when = timeout, timeout.when()
        loop = asyncio.get_running_loop()
        timeout.reschedule(max(self._when, loop.time() + self.grace))  # type: ignore[type-var]

    def release(self) -> None:
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(self._when)
        self._timeout = None


def timeout_error(seconds: float, committed: int) -> GraphQLError:
    if committed:
        outcome = (
            f"{committed} change(s) committed before the deadline stay committed; read the current "
            "state before retrying"
        )
    else:
        outcome = "nothing was changed"
    return GraphQLError(
        f"The request ran past its deadline of {seconds:g} s (request_timeout) and was stopped; "
        f"{outcome}. Ask for less: smaller pages, fewer nested connections or shorter histories",
        extensions={"code": Code.TIMEOUT, "timeout": seconds, "committed": committed},
    )
