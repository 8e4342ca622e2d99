"""Throughput of the simulator: (deployment, window) pairs per second on one core.

    python bench/bench_simulator.py [--deployments 100000] [--repeat 5] [--against DIR]

Each case is compared with two baselines measured in the same run: the same
pairs computed one call per pair (the per-row loop the simulator exists to
avoid, timed on a small sample), and a single np.exp over as many elements
(a lower bound on any numpy pass that touches each pair).

--against DIR also times another simulator package, DIR/simulator (e.g. main's:
`git archive main simulator | tar -x -C DIR`), in the same process, alternating
old and new run by run, and prints best-of-N times and new/old ratios.
"""

import argparse
import importlib.util
import math
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import (
    HEALTH_WINDOWS,
    RANGES,
    Fleet,
    assess_health,
    combine,
    compute_metrics,
    compute_series,
    trailing_mean_volume,
    window_levels,
    window_of,
)

NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC
DAY = 86_400.0


def make_fleet(n: int, fleet_class: type = Fleet) -> Fleet:
    """A realistic fleet: mixed sizes, activated over 60 days, 2 % never, 5 % with pauses."""
    position = np.arange(n)
    activated = NOW - 60 * DAY * ((position * 0.618_033_988_75) % 1.0)
    activated[position % 50 == 7] = math.nan
    off_ptr = np.zeros(n + 1, dtype=np.int64)
    paused = position[position % 20 == 3]
    off_ptr[paused + 1] = 2
    off_ptr = np.cumsum(off_ptr)
    start = np.repeat(activated[paused] + DAY, 2) + np.tile([0.0, 2 * DAY], paused.size)
    end = start + np.tile([3_600.0, math.inf], paused.size)
    ids = position * 7_919 + 1_000
    return fleet_class(ids, (position % 3).astype(np.int8), activated, off_ptr, start, end)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` timed runs, after one warm-up."""
    run()
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        run()
        times.append(time.perf_counter() - begin)
    return min(times)


def per_pair_rate(fleet: Fleet, index: np.ndarray, window: np.ndarray, repeat: int) -> float:
    """Pairs per second when every pair is its own call (on up to 300 pairs)."""
    sample = slice(0, 300)
    pairs = list(zip(index[sample].tolist(), window[sample].tolist(), strict=True))

    def loop() -> None:
        for i, w in pairs:
            compute_metrics(fleet, i, w)

    return len(pairs) / best_seconds(loop, max(1, repeat // 2))


def next_window_health(fleet: Fleet, window: int, earlier: list[np.ndarray]) -> object:
    """A poll in a new window: that window's figures and levels, the run's others kept.

    As the API's fleet snapshot does it (resolvers/snapshot.py): the trailing means once.
    """
    everyone = np.arange(fleet.n)
    current = compute_metrics(fleet, everyone, window)
    trailing = trailing_mean_volume(fleet, everyone, np.int64(window))
    run = np.stack([*earlier, window_levels(fleet, everyone, current, trailing)])
    return combine(run, current.serving, trailing)


def load_package(directory: str) -> types.ModuleType:
    """DIR/simulator imported as `other_simulator` (its relative imports resolve inside it)."""
    init = Path(directory) / "simulator" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "other_simulator", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["other_simulator"] = module
    spec.loader.exec_module(module)
    return module


def comparison_cases(sim: types.ModuleType, n: int) -> dict[str, Callable[[], object]]:
    """The bench cases written against a simulator package's public names."""
    fleet = make_fleet(n, sim.Fleet)
    now = int(sim.window_of(NOW))
    everyone = np.arange(n)
    month = now - np.arange(30 * 1_440)[::-1]
    day = now - np.arange(1_440)[::-1]
    block_positions = np.arange(1_000) * (n // 1_000)
    step, points = sim.RANGES["LAST_30_DAYS"]
    if hasattr(sim, "combine"):  # a 5-window run: the earlier windows' levels kept, as the API does
        earlier = [
            sim.window_levels(fleet, everyone, sim.compute_metrics(fleet, everyone, now - k))
            for k in range(sim.HEALTH_WINDOWS - 1, 0, -1)
        ]

        def health() -> object:
            current = sim.compute_metrics(fleet, everyone, now)
            trailing = sim.trailing_mean_volume(fleet, everyone, np.int64(now))
            run = np.stack([*earlier, sim.window_levels(fleet, everyone, current, trailing)])
            return sim.combine(run, current.serving, trailing)
    else:  # one window's rules

        def health() -> object:
            current = sim.compute_metrics(fleet, everyone, now)
            return sim.health_codes(current, sim.trailing_mean_volume(fleet, everyone, now))

    # A table's 50 sparklines of 24 hours, as the API computes them: in one call where the package
    # takes many positions, else one call per row (as the API did before).
    table = np.arange(50) * (n // 50)
    try:
        sim.compute_series(fleet, table, now, 15, 96)

        def sparklines() -> object:
            return sim.compute_series(fleet, table, now, 15, 96)
    except ValueError:  # one position per call: an array does not broadcast with the windows

        def sparklines() -> object:
            return [sim.compute_series(fleet, int(p), now, 15, 96) for p in table.tolist()]

    return {
        f"fleet of {n:,} at one window": lambda: sim.compute_metrics(fleet, everyone, now),
        "one deployment, 30 days of windows": lambda: sim.compute_metrics(fleet, 42, month),
        "1,000 deployments x 1,440 windows": lambda: sim.compute_metrics(
            fleet, block_positions[:, None], day[None, :]
        ),
        f"health of {n:,} at a new window": health,
        "30-day chart series (120 points)": lambda: sim.compute_series(fleet, 42, now, step, points),
        "50 sparklines of 24 hours (a table's)": sparklines,
    }


def compare(directory: str, n: int, repeat: int) -> None:
    """Best-of-`repeat` times of the other simulator and this one, alternating, and their ratio."""
    this = sys.modules["simulator"]
    old_cases, new_cases = comparison_cases(load_package(directory), n), comparison_cases(this, n)
    header = f"{'case':42s} {'old ms':>9s} {'new ms':>9s} {'new/old':>8s}"
    print(f"\nAgainst {directory}/simulator (alternating, best of {repeat}):\n{header}\n{'-' * len(header)}")
    for name, old_run in old_cases.items():
        new_run = new_cases[name]
        old_run(), new_run()
        best_old = best_new = math.inf
        for _ in range(repeat):
            for run, is_old in ((old_run, True), (new_run, False)):
                begin = time.perf_counter()
                run()
                took = time.perf_counter() - begin
                if is_old:
                    best_old = min(best_old, took)
                else:
                    best_new = min(best_new, took)
        print(f"{name:42s} {best_old * 1e3:>9.2f} {best_new * 1e3:>9.2f} {best_new / best_old:>8.2f}")


def main() -> None:
    """Time each case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", metavar="DIR", help="also compare with DIR/simulator")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.deployments, max(args.repeat, 15))
        return

    fleet = make_fleet(args.deployments)
    now = int(window_of(NOW))
    n = fleet.n
    month = now - np.arange(30 * 1_440)[::-1]
    block_positions = np.arange(1_000) * (n // 1_000)
    day = now - np.arange(1_440)[::-1]
    step, points = RANGES["LAST_30_DAYS"]
    # What the API's fleet snapshot keeps: the rule levels of the run's earlier windows.
    earlier_levels = [
        window_levels(fleet, np.arange(n), compute_metrics(fleet, np.arange(n), now - k))
        for k in range(HEALTH_WINDOWS - 1, 0, -1)
    ]
    cases: list[tuple[str, int, Callable[[], object], np.ndarray, np.ndarray]] = [
        (
            f"fleet of {n:,} at one window",
            n,
            lambda: compute_metrics(fleet, np.arange(n), now),
            np.arange(n),
            np.full(n, now),
        ),
        (
            "one deployment, 30 days of windows",
            month.size,
            lambda: compute_metrics(fleet, 42, month),
            np.full(month.size, 42),
            month,
        ),
        (
            "1,000 deployments x 1,440 windows",
            1_440_000,
            lambda: compute_metrics(fleet, block_positions[:, None], day[None, :]),
            np.repeat(block_positions, 1_440),
            np.tile(day, 1_000),
        ),
        (
            f"health of {n:,} (5-window run, cold)",
            n,
            lambda: assess_health(fleet, np.arange(n), now),
            np.arange(n),
            np.full(n, now),
        ),
        (
            f"health of {n:,}, next window (run kept)",
            n,
            lambda: next_window_health(fleet, now, earlier_levels),
            np.arange(n),
            np.full(n, now),
        ),
        (
            "30-day chart series (120 points)",
            step * points,
            lambda: compute_series(fleet, 42, now, step, points),
            np.full(300, 42),
            month[:300],
        ),
    ]
    # The first case runs in a fresh process, where glibc still maps and unmaps big blocks
    # each call (page faults: slow on a VM); after the big block it reuses heap memory.
    cases.append((f"fleet of {n:,} again, malloc warmed up", *cases[0][1:]))

    header = f"{'case':42s} {'pairs':>10s} {'ms':>9s} {'pairs/s':>12s}"
    header += f" {'x per-pair loop':>16s} {'x np.exp time':>14s}"
    print(header)
    print("-" * len(header))
    for name, pairs, run, index, window in cases:
        seconds = best_seconds(run, args.repeat)
        values = np.linspace(0.0, 1.0, pairs)
        exp_seconds = best_seconds(lambda: np.exp(values), args.repeat)  # noqa: B023  (called at once)
        loop_rate = per_pair_rate(fleet, index, window, args.repeat)
        rate = pairs / seconds
        print(
            f"{name:42s} {pairs:>10,d} {seconds * 1e3:>9.2f} {rate:>12,.0f} {rate / loop_rate:>15,.0f}x "
            f"{seconds / exp_seconds:>13.1f}x"
        )
    print(
        "\npairs/s counts windows represented; the 30-day series computes 15 sample windows per 6-hour step."
    )
    print(
        "x per-pair loop: speed-up over one compute_metrics call per pair;"
        " x np.exp time: cost relative to one np.exp over as many elements."
    )
    print("The first and the last row differ only in the state of malloc (see the comment in main).")


if __name__ == "__main__":
    main()
