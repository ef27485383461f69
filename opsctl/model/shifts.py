"""Shift boundaries in a rotation's local wall time (docs/schedule.md#shifts).

Shift k starts at the wall time ``start + k·L`` in the rotation's zone, read the way
zoneinfo reads it with ``fold=0``: a wall time in a spring-forward gap moves forward by
the gap, and one that happens twice is its first occurrence. For shifts shorter than a
gap the wall times can map to instants out of order; boundaries are then the running
maximum, so shifts never overlap (such a shift is empty).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from opsctl.model import Rotation
from opsctl.model.zones import zone

_LARGEST_GAP = timedelta(hours=3)  # larger than any UTC offset change in the tz database


class ShiftGrid:
    """The boundaries of a rotation's shifts; shift k is ``[boundary(k), boundary(k+1))``."""

    def __init__(self, start: datetime, length: timedelta, tz: ZoneInfo) -> None:
        if length <= timedelta(0):
            raise ValueError("shift length must be positive")
        self.start = start  # naive wall time of shift 0
        self.length = length
        self.tz = tz
        self._lookback = max(1, math.ceil(_LARGEST_GAP / length))
        self._cache: dict[int, datetime] = {}
        self._instants: dict[int, datetime] = {}

    @classmethod
    def of(cls, rotation: Rotation) -> ShiftGrid:
        return cls(datetime.combine(rotation.start, rotation.handoff), rotation.shift, zone(rotation.timezone))

    def wall(self, k: int) -> datetime:
        """The naive local wall time at which shift k nominally starts."""
        return self.start + k * self.length

    def _instant(self, k: int) -> datetime:
        found = self._instants.get(k)
        if found is None:
            found = self._instants[k] = self.wall(k).replace(tzinfo=self.tz).astimezone(UTC)
        return found

    def boundary(self, k: int) -> datetime:
        """The UTC instant at which shift k starts (``k >= 0``)."""
        cached = self._cache.get(k)
        if cached is None:
            cached = self._instant(k)
            for j in range(max(0, k - self._lookback), k):
                earlier = self._instant(j)
                if earlier > cached:
                    cached = earlier
            self._cache[k] = cached
        return cached

    def index_at(self, instant: datetime) -> int:
        """The shift containing ``instant`` (UTC-aware); -1 before the first shift."""
        if instant < self.boundary(0):
            return -1
        naive_utc = instant.astimezone(UTC).replace(tzinfo=None)
        first_utc = self.boundary(0).replace(tzinfo=None)
        k = max(0, int((naive_utc - first_utc) / self.length))
        while k > 0 and self.boundary(k) > instant:
            k -= 1
        while self.boundary(k + 1) <= instant:
            k += 1
        return k

    def index_of_wall(self, wall: datetime) -> int | None:
        """k when the naive wall time ``wall`` is exactly the start of shift k, else None."""
        offset = wall - self.start
        if offset < timedelta(0) or offset % self.length:
            return None
        return offset // self.length

    def to_wall(self, value: date | datetime, default_time: datetime | None = None) -> datetime:
        """A naive wall time in the grid's zone: dates at the handoff time, aware values converted."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value
            return value.astimezone(self.tz).replace(tzinfo=None)
        return datetime.combine(value, self.start.time())
