"""Sentences explaining a deployment's health: which rule holds, the figure now and the threshold."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .health import (
    ERROR_PERCENTS,
    ERROR_RULE,
    HEALTH_QUORUM,
    HEALTH_WINDOWS,
    MIN_ERRORS,
    P50_FACTORS,
    P50_RULE,
    P95_FACTORS,
    P95_RULE,
    TRAFFIC_RULE,
)

_LEVEL_WORDS = ("", "warning", "critical")
_TIMES = "\u00d7"  # the multiplication sign; escaped, as ruff flags the literal as ambiguous


@dataclass(frozen=True)
class Figures:
    """One deployment's current figures and baselines, as plain numbers (NaN: no figure)."""

    p50: float
    p95: float
    error_rate: float
    volume: float
    trailing: float
    usual_p50: float
    usual_p95: float


def health_reasons(levels: Sequence[int], hits: Sequence[int], f: Figures, serving: bool) -> list[str]:
    """Sentences for the rules that hold a level, worst first; empty when HEALTHY."""
    if not serving:
        return ["Not serving traffic"]
    found: list[tuple[int, str]] = []
    for rule, name, figure, usual, factors in (
        (P50_RULE, "P50", f.p50, f.usual_p50, P50_FACTORS),
        (P95_RULE, "P95", f.p95, f.usual_p95, P95_FACTORS),
    ):
        level = levels[rule]
        if level:
            now = f"{_ms(figure)} ms, {figure / usual:.1f}{_TIMES}" if math.isfinite(figure) else "above"
            limit = factors[level - 1]
            found.append(
                (
                    level,
                    f"{name} latency {now} its usual {_ms(usual)} ms "
                    f"({_LEVEL_WORDS[level]} above {limit:g}{_TIMES}{_persisting(hits[rule])})",
                )
            )
    level = levels[ERROR_RULE]
    if level:
        now = (
            f"Error rate {_percent(f.error_rate)}%"
            if math.isfinite(f.error_rate)
            else "No requests now; error rate"
        )
        found.append(
            (
                level,
                f"{now} ({_LEVEL_WORDS[level]} from {ERROR_PERCENTS[level - 1]:g}% with at least "
                f"{MIN_ERRORS[level - 1]} errors a minute{_persisting(hits[ERROR_RULE])})",
            )
        )
    if levels[TRAFFIC_RULE]:
        found.append(
            (
                levels[TRAFFIC_RULE],
                f"Traffic {_rate(f.volume)} req/s against a trailing-hour mean of {_rate(f.trailing)} req/s "
                f"(warning below half{_persisting(hits[TRAFFIC_RULE])})",
            )
        )
    # Stable sort: worst level first, rule order within a level.
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def _persisting(hits: int) -> str:
    """How long the rule has held: it needs HEALTH_QUORUM of the last HEALTH_WINDOWS minutes."""
    return f"; {hits} of the last {HEALTH_WINDOWS} minutes, {HEALTH_QUORUM} needed"


def _ms(value: float) -> str:
    """Milliseconds with the precision a reader wants: 48.5, 312, 12,400."""
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _percent(value: float) -> str:
    """A percentage with one decimal, or two below 1 %."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def _rate(volume: float) -> str:
    """A request rate with the decimals its size deserves."""
    return f"{volume:.1f}" if volume >= 1 else f"{volume:.2g}"
