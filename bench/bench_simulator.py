"""Throughput of the simulator: (deployment, window) pairs per second on one core.

    python bench/bench_simulator.py [--deployments 100000] [--repeat 5]

Each case is compared with two baselines measured in the same run: the same
pairs computed one call per pair (the per-row loop the simulator exists to
avoid, timed on a small sample), and a single np.exp over as many elements
(a lower bound on any numpy pass that touches each pair).
"""

import argparse
import math
import sys
import time
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


def make_fleet(n: int) -> Fleet:
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
    return Fleet(ids, (position % 3).astype(np.int8), activated, off_ptr, start, end)


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

    As the API's fleet snapshot does it (resolvers/fleet.py): the trailing means once.
    """
    everyone = np.arange(fleet.n)
    current = compute_metrics(fleet, everyone, window)
    trailing = trailing_mean_volume(fleet, everyone, np.int64(window))
    run = np.stack([*earlier, window_levels(fleet, everyone, current, trailing)])
    return combine(run, current.serving, trailing)


def main() -> None:
    """Time each case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

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
