"""An executor that lets the event loop breathe while an operation does a lot of work.

Two things starved other clients (measured with py-spy and a timer around every event-loop
callback, see the README). graphql-core completes a list of plain values synchronously: 100 jobs ×
246 loss points is one 0.5 s stretch in which nothing else runs, not even a deadline. And an
operation over 100 rows fans out into hundreds of tasks, all runnable at once: the loop serves
callbacks first come first served, so a cheap request waits behind all of them at each of its own
steps, seconds in all, however short each task is.

So an expensive operation (CostLimiter marks it with `heavy()`) works in rounds of SLICE_SECONDS.
Once a round is spent, each of its tasks that reaches a list item or the start of an async
resolver parks until the next round, which opens with `loop.call_soon`, i.e. after every callback
already queued: other requests' steps go first, then this operation gets another round. While a
cheap request is in flight the next round opens only after SLICE_SECONDS more (`light_request`):
cheap requests first, and an expensive one at no less than half the process. Cheaper
operations run as graphql-core runs them, their DataLoader batches intact: rounds split batches
(loads from tasks parked in different rounds go out in different queries).
"""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

SLICE_SECONDS = 0.005  # measured: 10 ms doubled cheap requests' median wait; 2.5 ms cost 1/3 of throughput


class _Rounds:
    """One operation's rounds; shared by graphql-core's shallow copies of the executor."""

    __slots__ = ("next", "started")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.next: asyncio.Future[None] | None = None

    def spent(self) -> bool:
        return time.perf_counter() - self.started > SLICE_SECONDS

    async def wait(self) -> None:
        """Until the next round: after everything the loop has queued by now."""
        if self.next is None:
            loop = asyncio.get_running_loop()
            self.next = loop.create_future()
            if _light.waiting:  # a cheap request is under way: it gets the next round's time too
                loop.call_later(SLICE_SECONDS, self._open, self.next)
            else:
                loop.call_soon(self._open, self.next)
        await asyncio.shield(self.next)  # a cancelled waiter must not cancel the round for the others

    def _open(self, round_: asyncio.Future[None]) -> None:
        self.next = None
        self.started = time.perf_counter()
        if not round_.done():
            round_.set_result(None)


def _discard(pending: Any) -> None:
    """Close work a deadline cut off before it started: a coroutine never started, and the ones it was
    handed (graphql-core wraps one in another), or the rest of a list. Left to the garbage collector,
    each would be a "coroutine was never awaited" warning."""
    if isinstance(pending, _Resume):
        for index in pending.work.awaitables:
            _discard(pending.work.completed[index])
        return
    if not asyncio.iscoroutine(pending) or inspect.getcoroutinestate(pending) != inspect.CORO_CREATED:
        return
    handed = list(pending.cr_frame.f_locals.values())  # its arguments and the variables it closes over
    pending.close()
    for value in handed:
        for inner in (
            value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        ):
            if asyncio.iscoroutine(inner) or isinstance(inner, _Resume):
                _discard(inner)


class _Resume:
    """Awaitable rest of a list. Not a coroutine until awaited: one that a deadline leaves unawaited
    is dropped silently instead of warning "coroutine was never awaited"."""

    __slots__ = ("index", "work")

    def __init__(self, work: "_ListWork", index: int) -> None:
        self.work = work
        self.index = index

    def __await__(self) -> Any:
        return self.work.later(self.index).__await__()


_heavy: ContextVar[bool] = ContextVar("heavy_operation", default=False)


class _Light:
    """Requests in flight that run no expensive operation: while any is, rounds are spaced out."""

    waiting = 0


_light = _Light()


@contextmanager
def light_request() -> Iterator[Callable[[], None]]:
    """Counts a request as cheap until it calls what this yields (it started an expensive operation)."""
    counted = True

    def turned_heavy() -> None:
        nonlocal counted
        if counted:
            counted = False
            _light.waiting -= 1

    _light.waiting += 1
    try:
        yield turned_heavy
    finally:
        turned_heavy()


@contextmanager
def heavy() -> Iterator[None]:
    """Marks the operation executed inside as expensive: it works in rounds."""
    token = _heavy.set(True)
    try:
        yield
    finally:
        _heavy.reset(token)


class YieldingExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rounds = _Rounds() if _heavy.get() else None

    async def with_abort_signal(self, awaitable: Awaitable[Any]) -> Any:  # type: ignore[override]
        # graphql-core awaits every async resolver's result here: its body starts in a round with time left.
        # A loop, not an `if`: every resolver parked for a round wakes when it opens, and the first ones
        # may spend it; the others park again (an `if` let all of them run, 0.45 s stretches of charts).
        while self._rounds is not None and self._rounds.spent():
            try:
                await self._rounds.wait()
            except BaseException:
                _discard(awaitable)  # never started: nothing to undo
                raise
        return await super().with_abort_signal(awaitable)

    def complete_iterable_value(  # type: ignore[override]
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        if self._rounds is None or self.get_stream_usage(field_details_list, path) is not None:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        work = _ListWork(self, item_type, field_details_list, info, path, list(items), position_context)
        return work.run(0)


class _ListWork:
    """One list being completed: items in order, the awaitable ones gathered at the end (as graphql-core)."""

    __slots__ = (
        "awaitables",
        "completed",
        "executor",
        "fields",
        "info",
        "item_type",
        "items",
        "path",
        "position",
    )

    def __init__(
        self,
        executor: YieldingExecutor,
        item_type: Any,
        fields: Any,
        info: Any,
        path: Any,
        items: list[Any],
        position: Any,
    ) -> None:
        self.executor = executor
        self.item_type = item_type
        self.fields = fields
        self.info = info
        self.path = path
        self.items = items
        self.position = position
        self.completed: list[Any] = []
        self.awaitables: list[int] = []

    def run(self, start: int) -> Any:
        """Complete items from `start`: the list, or an awaitable of it when a round ran out first."""
        paused_at = self._step(start)
        if paused_at is not None:
            return _Resume(self, paused_at)
        return self._gather() if self.awaitables else self.completed

    def _step(self, start: int) -> int | None:
        """Complete items while the round lasts; the index to go on from, or None when all are done."""
        executor = self.executor
        is_awaitable = executor.is_awaitable
        rounds = executor._rounds
        assert rounds is not None, "lists of cheap operations are graphql-core's"
        try:
            for index in range(start, len(self.items)):
                if rounds.spent():
                    return index
                item = self.items[index]
                item_path = self.path.add_key(index, None)
                if is_awaitable(item):
                    self.completed.append(
                        executor.complete_awaitable_list_item_value(
                            item, self.item_type, self.fields, self.info, item_path, self.position
                        )
                    )
                    self.awaitables.append(index)
                elif executor.complete_list_item_value(
                    item, self.completed, self.item_type, self.fields, self.info, item_path, self.position
                ):
                    self.awaitables.append(index)
        except Exception:
            self._settle_pending()
            raise
        return None

    async def later(self, index: int) -> list[Any]:
        """The rest of the list, a round at a time (a loop: rounds must not nest awaits)."""
        paused_at: int | None = index
        while paused_at is not None:
            assert self.executor._rounds is not None
            try:
                await self.executor._rounds.wait()
            except BaseException:  # cancelled (the request's deadline): drop the items not started
                for started in self.awaitables:
                    _discard(self.completed[started])
                raise
            paused_at = self._step(paused_at)
        return await self._gather() if self.awaitables else self.completed

    async def _gather(self) -> list[Any]:
        pending: list[Awaitable[Any]] = [self.completed[i] for i in self.awaitables]
        if len(pending) == 1:
            self.completed[self.awaitables[0]] = await pending[0]
        else:
            for index, value in zip(self.awaitables, await gather_with_cancel(*pending), strict=True):
                self.completed[index] = value
        return self.completed

    def _settle_pending(self) -> None:
        pending = [self.completed[i] for i in self.awaitables if i < len(self.completed)]
        if pending:
            self.executor.settle_in_background(pending)
        self.awaitables = []
