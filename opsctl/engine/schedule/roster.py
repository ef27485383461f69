"""Rosters over time (docs/schedule.md#roster-changes): the base primary of every shift.

A rotation starts with its ``members`` and each roster change applies from a handoff on.
Shifts before a change keep their people; after it, the order continues through the new
roster from the member who takes the first shift: the change's ``first``, else the first
member of the new roster met walking the old order from the successor of the previous
shift's base primary, else the new roster's first member.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from opsctl.model import RosterChange, Rotation
from opsctl.model.shifts import ShiftGrid


@dataclass(frozen=True)
class RosterPeriod:
    """The roster in force from shift ``first_shift`` until the next period."""

    first_shift: int
    members: tuple[str, ...]
    offset: int
    """Index in ``members`` of the base primary of ``first_shift``."""
    change: RosterChange | None
    """The change that started this period; None for the rotation's first roster."""

    @property
    def size(self) -> int:
        return len(self.members)

    def base_primary(self, k: int) -> str:
        return self.members[(k - self.first_shift + self.offset) % len(self.members)]

    def position(self, k: int) -> int:
        return (k - self.first_shift + self.offset) % len(self.members)


class Roster:
    """The roster periods of one rotation, looked up by shift index."""

    def __init__(self, rotation: Rotation, grid: ShiftGrid) -> None:
        periods = [RosterPeriod(0, rotation.members, 0, None)]
        for change in rotation.roster_changes:
            index = grid.index_of_wall(grid.to_wall(change.effective))
            if index is None or index <= periods[-1].first_shift or not change.members:
                continue  # reported by the integrity checks; never reached by a valid org
            previous = periods[-1]
            offset = (
                change.members.index(change.first)
                if change.first in change.members
                else _default_offset(previous, index, change.members)
            )
            periods.append(RosterPeriod(index, change.members, offset, change))
        self.periods = periods
        self._starts = [p.first_shift for p in periods]

    def period(self, k: int) -> RosterPeriod:
        return self.periods[bisect.bisect_right(self._starts, k) - 1]

    def period_end(self, period: RosterPeriod) -> int | None:
        """The first shift after ``period`` (None for the last period)."""
        i = self.periods.index(period)
        return self.periods[i + 1].first_shift if i + 1 < len(self.periods) else None

    def base_primary(self, k: int) -> str:
        return self.period(k).base_primary(k)


def _default_offset(previous: RosterPeriod, first_shift: int, members: tuple[str, ...]) -> int:
    last = previous.position(first_shift - 1)
    for step in range(1, previous.size + 1):
        candidate = previous.members[(last + step) % previous.size]
        if candidate in members:
            return members.index(candidate)
    return 0
