"""Per-pair values of per-deployment arrays: a view, a broadcast or runs where the positions allow.

A pass over (deployment, window) pairs reads each deployment's traits once per pair; how the
positions are laid out decides the cheapest way (simulator/metrics.py, simulator/health.py).
"""

from collections.abc import Callable

import numpy as np

_RUN_LENGTH = 32  # pairs per run of one position, on average, from which runs are repeated


def gatherer(
    position: np.ndarray, one_deployment: bool = False, in_order: bool = False
) -> Callable[[np.ndarray], np.ndarray]:
    """Per-pair values of a per-deployment array: a view where the positions allow one.

    A fleet-wide pass asks for positions 0, 1, 2, … (a slice: a view), a chart for one
    position many times (a read-only broadcast of its value: no memory at all); either
    is cheaper than a gather. Both are views: values modified in place must be copied.
    `one_deployment` / `in_order` say that the positions are known to be one / consecutive.
    """
    first = int(position[0]) if position.size else 0
    if one_deployment:
        return Broadcast(first, position.shape)
    if in_order or consecutive(position):
        return lambda values: values[first : first + position.size]
    if position.size >= _RUN_LENGTH:
        # Runs of one position (a block of deployments x windows): repeat each run's value,
        # about a third of the cost of a gather.
        change = (position[1:] != position[:-1]).nonzero()[0]
        if change.size * _RUN_LENGTH < position.size:
            return RunGather(position, np.concatenate(([0], change + 1)))
    return lambda values: values.take(position)


class Broadcast:
    """Per-pair values of pairs that are all one deployment's: its value, broadcast (read only)."""

    def __init__(self, first: int, shape: tuple[int, ...]) -> None:
        self.first, self.shape = first, shape

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if not values.flags.c_contiguous:
            return np.broadcast_to(values[self.first], self.shape)
        # The same view as np.broadcast_to's (stride 0, read only), built at a third of its cost.
        view = np.ndarray(
            self.shape, values.dtype, values, self.first * values.itemsize, (0,) * len(self.shape)
        )
        view.flags.writeable = False
        return view


class RunGather:
    """Per-pair values of pairs that come in runs of one position: each run's value repeated."""

    def __init__(self, position: np.ndarray, starts: np.ndarray) -> None:
        self.starts = starts  # where each run begins (ascending, from 0)
        self.lengths = np.diff(starts, append=position.size)
        self.heads = position.take(starts)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.repeat(values.take(self.heads), self.lengths)


def consecutive(position: np.ndarray) -> bool:
    """Whether the positions are first, first + 1, … (a fleet-wide pass in order)."""
    first = int(position[0]) if position.size else 0
    return bool(
        position.size
        and int(position[-1]) - first == position.size - 1
        and np.array_equal(position, np.arange(first, first + position.size))
    )
