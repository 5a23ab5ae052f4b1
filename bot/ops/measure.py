"""Figures of a measured run: percentiles of latencies."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0–100), interpolated; None without values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p) - 1] if p < 100 else max(values)


def rounded(value: float | None) -> float | None:
    """A latency rounded to a tenth of a millisecond; None stays None."""
    return None if value is None else round(value, 1)


def ms_cell(value: float | None) -> str:
    """A latency in whole milliseconds for a table cell; a dash without a value."""
    return "–" if value is None else f"{value:.0f}"
