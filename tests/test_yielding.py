"""schema/yielding.py: an expensive operation hands the event loop back between its resolvers.

A resolver that computes for longer than a round (a chart: ~10 ms of numpy) must be followed by a
turn of the loop before the next one starts, however many of them waited for the same round.
"""

import asyncio
import time

import strawberry

from schema.yielding import SLICE_SECONDS, YieldingExecutor, heavy

ROWS = 30


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_resolvers_that_each_outlast_a_round_run_one_per_turn_of_the_loop() -> None:
    turns = 0
    started_in_turn: list[int] = []

    @strawberry.type
    class Row:
        n: int

        @strawberry.field
        async def chart(self) -> int:
            started_in_turn.append(turns)
            busy(2 * SLICE_SECONDS)  # synchronous work, as a simulator call is
            return self.n

    @strawberry.type
    class Query:
        @strawberry.field
        def rows(self) -> list[Row]:
            return [Row(n=i) for i in range(ROWS)]

    schema = strawberry.Schema(query=Query, execution_context_class=YieldingExecutor)

    async def run() -> strawberry.types.ExecutionResult:
        nonlocal turns
        done = False

        async def ticker() -> None:  # counts turns of the loop: one per sleep(0)
            nonlocal turns
            while not done:
                turns += 1
                await asyncio.sleep(0)

        tick = asyncio.create_task(ticker())
        with heavy():
            result = await schema.execute("{ rows { n chart } }")
        done = True
        await tick
        return result

    result = asyncio.run(run())
    assert result.errors is None and result.data is not None
    assert [row["chart"] for row in result.data["rows"]] == list(range(ROWS))
    most = max(started_in_turn.count(t) for t in set(started_in_turn))
    # Each body spends a whole round, so the next one waits for the loop (two may share a turn at most:
    # a round that opened late in one turn).
    assert most <= 2, f"{most} resolvers of {SLICE_SECONDS * 2 * 1000:.0f} ms ran in one turn of the loop"
