"""Half-open time intervals: the one place that merges them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def merge_intervals(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of ``intervals`` as sorted, disjoint intervals; touching ones are joined."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def complement(busy: Iterable[tuple[datetime, datetime]], start: datetime) -> list[tuple[datetime, datetime | None]]:
    """The free stretches from ``start`` on around ``busy``; the last one is open-ended (its end None)."""
    free: list[tuple[datetime, datetime | None]] = []
    cursor = start
    for lo, hi in merge_intervals(busy):
        if lo > cursor:
            free.append((cursor, lo))
        cursor = max(cursor, hi)
    free.append((cursor, None))
    return free
