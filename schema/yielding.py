"""An executor that lets the event loop breathe while it completes long lists.

graphql-core completes a list whose items are plain values synchronously: 100 jobs × 246 loss
points, or 100 jobs × 61 nested deployments, is one stretch of 0.2–0.6 s in which the process
answers nothing else, `/healthz` included, and in which no deadline can fire. This executor
measures how long it has run since it last gave the loop a turn; once that passes SLICE_SECONDS
it finishes the rest of the list after `await asyncio.sleep(0)`, so every synchronous stretch of
one operation stays near SLICE_SECONDS (plus one list item) whatever the response's size.
"""

import asyncio
import time
from collections.abc import Awaitable, Iterable
from typing import Any

from graphql.pyutils import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

SLICE_SECONDS = 0.01  # four such stretches queued ahead of a cheap request still cost it only 40 ms


class _Slice:
    """When this operation last let the loop run; shared by graphql-core's shallow copies of the executor."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = time.perf_counter()


class YieldingExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slice = _Slice()

    def complete_iterable_value(  # type: ignore[override]
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        if self.get_stream_usage(field_details_list, path) is not None:  # @stream: graphql-core's own path
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
        """Complete items from `start` until done or out of time; a list, or an awaitable of one."""
        executor = self.executor
        is_awaitable = executor.is_awaitable
        clock = executor._slice
        try:
            for index in range(start, len(self.items)):
                if time.perf_counter() - clock.started > SLICE_SECONDS:
                    return self._later(index)
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
        if not self.awaitables:
            return self.completed
        return self._gather()

    async def _later(self, index: int) -> list[Any]:
        try:
            await asyncio.sleep(0)
        except BaseException:  # cancelled (the request's deadline): drop the items not started
            for index in self.awaitables:
                pending = self.completed[index]
                if asyncio.iscoroutine(pending):
                    pending.close()
            raise
        self.executor._slice.started = time.perf_counter()
        result = self.run(index)
        return await result if self.executor.is_awaitable(result) else result

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
