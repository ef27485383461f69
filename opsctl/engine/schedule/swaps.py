"""Holiday swaps (docs/schedule.md#holiday-swaps).

Shifts are resolved in time order from the rotation's first shift, so an answer never
depends on the window asked for. When the primary of shift k is unavailable at any moment
of it, shift j is sought in the order k+1, k−1, k+2, k−2, … up to n−1 shifts each way
(never before the first shift, never across a roster change) such that j is not already
swapped, j's primary is somebody else, j's primary is available for all of shift k and
k's primary for all of shift j. The first such j swaps primaries with k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from opsctl.engine.schedule.availability import Availability
from opsctl.engine.schedule.roster import Roster
from opsctl.engine.schedule.timeline import Step
from opsctl.model.shifts import ShiftGrid


@dataclass
class Primaries:
    """Primaries of shifts 0..``resolved`` after swaps, with the trail of each swap."""

    primary: dict[int, str] = field(default_factory=dict)
    swapped_with: dict[int, int] = field(default_factory=dict)
    steps: dict[int, list[Step]] = field(default_factory=dict)
    asked: set[int] = field(default_factory=set)
    """Shifts whose unavailable primary started a swap (the other shift of each pair is not here)."""
    unswappable: set[int] = field(default_factory=set)
    """Shifts whose primary is unavailable at some moment and found nobody to swap with."""
    resolved: int = -1


def search_order(k: int, n: int, first: int, end: int | None) -> Iterator[int]:
    """k+1, k−1, k+2, k−2, … up to n−1 each way, within ``[first, end)``."""
    for distance in range(1, n):
        for j in (k + distance, k - distance):
            if j >= first and (end is None or j < end):
                yield j


class SwapResolver:
    """Resolves primaries shift by shift and remembers how far it got."""

    def __init__(
        self,
        grid: ShiftGrid,
        roster: Roster,
        availability: Availability,
        *,
        holidays: bool,
        name: Callable[[str], str],
    ) -> None:
        self.grid = grid
        self.roster = roster
        self.availability = availability
        self.holidays = holidays
        self.name = name
        self.state = Primaries()

    def _primary(self, k: int) -> str:
        found = self.state.primary.get(k)
        if found is None:
            found = self.roster.base_primary(k)
            self.state.primary[k] = found
        return found

    def _available(self, person: str, k: int) -> bool:
        return self.availability.available(person, self.grid.boundary(k), self.grid.boundary(k + 1), holidays=self.holidays)

    def resolve_through(self, last: int) -> Primaries:
        """Resolve every shift up to ``last`` and far enough beyond that none of them can change."""
        period = self.roster.period(max(last, 0))
        end = self.roster.period_end(period)
        horizon = last + period.size - 1
        if end is not None:
            horizon = min(horizon, end - 1)
        state, boundary, available, holidays = self.state, self.grid.boundary, self.availability.available, self.holidays
        for k in range(state.resolved + 1, max(horizon, last) + 1):
            # most shifts: a primary not swapped yet and available all shift; the rest search
            if k not in state.swapped_with:
                person = self._primary(k)
                begins, ends = boundary(k), boundary(k + 1)
                if not available(person, begins, ends, holidays=holidays):
                    self._swap(k, person, begins, ends)
            state.resolved = k
        return state

    def _swap(self, k: int, person: str, start: datetime, end: datetime) -> None:
        """Shift ``k``'s primary ``person`` is unavailable during it: the first legal swap, else reduced duty."""
        state = self.state
        conflicts = self.availability.conflicts(person, start, end, holidays=self.holidays)
        period = self.roster.period(k)
        for j in search_order(k, period.size, period.first_shift, self.roster.period_end(period)):
            if j in state.swapped_with:
                continue
            other = self._primary(j)
            if other == person or not self._available(other, k) or not self._available(person, j):
                continue
            state.primary[k], state.primary[j] = other, person
            state.swapped_with[k], state.swapped_with[j] = j, k
            state.asked.add(k)
            state.unswappable.discard(j)
            why = conflicts[0].describe()
            state.steps.setdefault(k, []).append(
                Step(
                    "swap",
                    f"{self.name(person)} is unavailable ({why}): swapped with shift {j} "
                    f"({self._when(j)}), so {self.name(other)} takes this shift",
                    f"swap: {person} away ({conflicts[0].kind}), {other} covers",
                )
            )
            state.steps.setdefault(j, []).append(
                Step(
                    "swap",
                    f"swapped with shift {k} ({self._when(k)}), where {self.name(person)} was unavailable "
                    f"({why}): {self.name(person)} takes this shift instead of {self.name(other)}",
                    f"swap: in exchange for shift {k}",
                )
            )
            return
        state.unswappable.add(k)

    def _when(self, k: int) -> str:
        start = self.grid.boundary(k).astimezone(self.grid.tz)
        return f"starting {start:%Y-%m-%d %H:%M}"
