"""Run the layers: base rotation → availability → swaps → reduced duty → overrides.

:class:`Engine` holds one org and one holiday calendar; :meth:`Engine.slots` returns the
slots of a rotation over a window, :meth:`Engine.at` the slot at an instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from opsctl.engine.holidays import HolidayCalendar
from opsctl.engine.schedule.availability import Availability
from opsctl.engine.schedule.duty import choose_secondary
from opsctl.engine.schedule.overrides import OverrideSpan, override_spans, winning
from opsctl.engine.schedule.roster import Roster
from opsctl.engine.schedule.swaps import Primaries, SwapResolver
from opsctl.engine.schedule.timeline import Shift, Slot, Step
from opsctl.model import Org, Rotation
from opsctl.model.shifts import ShiftGrid

_TICK = timedelta(microseconds=1)
_AT_REMEMBERED = 4096


@dataclass
class _RotationState:
    rotation: Rotation
    grid: ShiftGrid
    roster: Roster
    swaps: SwapResolver
    overrides: list[OverrideSpan]


class Engine:
    """The schedule of every rotation of an org. Pure: time comes in as arguments."""

    def __init__(self, org: Org, calendar: HolidayCalendar, swaps: dict[str, Primaries] | None = None) -> None:
        """``swaps``: the swap states of :meth:`swap_states` of an engine of the same org and
        calendar, to go on from (resolving swaps from each rotation's first shift is most
        of the time of a year's schedule); the answers are the same with them or without."""
        self.org = org
        self.availability = Availability(org, calendar)
        self._seeded = swaps or {}
        self._states: dict[str, _RotationState] = {}
        self._at: dict[tuple[str, datetime], Slot | None] = {}

    def name(self, person: str) -> str:
        found = self.org.people.get(person)
        return f"{found.name} ({person})" if found else person

    def _state(self, rotation_id: str) -> _RotationState:
        state = self._states.get(rotation_id)
        if state is None:
            rotation = self.org.rotations[rotation_id]
            grid = ShiftGrid.of(rotation)
            roster = Roster(rotation, grid)
            swaps = SwapResolver(grid, roster, self.availability, holidays=rotation.public_holidays, name=self.name)
            seeded = self._seeded.get(rotation_id)
            if seeded is not None:
                swaps.state = seeded
            state = _RotationState(rotation, grid, roster, swaps, override_spans(self.org, rotation))
            self._states[rotation_id] = state
        return state

    def swap_states(self) -> dict[str, Primaries]:
        """How far swaps are resolved, per rotation asked about, for another engine of the same org to go on from."""
        return {rotation_id: state.swaps.state for rotation_id, state in self._states.items()}

    def grid(self, rotation_id: str) -> ShiftGrid:
        return self._state(rotation_id).grid

    # -- shifts --------------------------------------------------------------------------

    def shift(self, rotation_id: str, k: int) -> Shift:
        """Shift ``k`` after swaps, with its secondary (before overrides)."""
        state = self._state(rotation_id)
        rotation, grid = state.rotation, state.grid
        primaries = state.swaps.resolve_through(k)
        period = state.roster.period(k)
        base = period.base_primary(k)
        primary = primaries.primary.get(k, base)
        start, end = grid.boundary(k), grid.boundary(k + 1)
        trail: list[Step] = [Step("base", f"shift {k} of {rotation.title}: {self.name(base)} is primary in rotation order")]
        if period.change is not None and k == period.first_shift:
            reason = f" ({period.change.reason})" if period.change.reason else ""
            trail.append(
                Step("roster", f"the roster changes from this shift on{reason}: {', '.join(period.members)}", "new roster")
            )
        trail.extend(primaries.steps.get(k, []))
        secondary, secondary_reduced = None, False
        if rotation.depth == 2:
            secondary, step, secondary_reduced = choose_secondary(
                period, primary, start, end, self.availability, holidays=rotation.public_holidays, name=self.name
            )
            if step is not None:
                trail.append(step)
        return Shift(
            rotation.id,
            k,
            start,
            end,
            base,
            primary,
            secondary,
            primaries.swapped_with.get(k),
            k in primaries.asked,
            k in primaries.unswappable,
            tuple(trail),
            secondary_reduced,
        )

    # -- slots ---------------------------------------------------------------------------

    def slots(self, rotation_id: str, start: datetime, end: datetime, *, clip: bool = True) -> list[Slot]:
        """The slots of a rotation that overlap ``[start, end)``.

        Clipped to the window, they tile it from the rotation's first shift on; with
        ``clip=False`` they are whole (as calendars need them, so that events stay the same
        whatever the window).
        """
        state = self._state(rotation_id)
        grid = state.grid
        if end <= start or end <= grid.boundary(0):
            return []
        first = max(0, grid.index_at(start))
        last = grid.index_at(end - _TICK)
        state.swaps.resolve_through(last)
        out: list[Slot] = []
        for k in range(first, last + 1):
            shift = self.shift(rotation_id, k)
            if clip:
                lo, hi = max(shift.start, start), min(shift.end, end)
                if lo < hi:
                    out.extend(self._shift_slots(state, shift, lo, hi))
            elif shift.start < shift.end:
                out.extend(s for s in self._shift_slots(state, shift, shift.start, shift.end) if s.start < end and start < s.end)
        return out

    def at(self, rotation_id: str, instant: datetime) -> Slot | None:
        """The slot at ``instant``, whole (not clipped); None before the rotation's first shift.

        Remembered: a site or a sync asks the same rotation about the same instant once per pipeline.
        """
        key = (rotation_id, instant)
        if key not in self._at:
            if len(self._at) >= _AT_REMEMBERED:
                self._at.clear()  # a long-lived engine (the webhook server) asks about ever new instants
            self._at[key] = self._slot_at(rotation_id, instant)
        return self._at[key]

    def _slot_at(self, rotation_id: str, instant: datetime) -> Slot | None:
        grid = self._state(rotation_id).grid
        k = grid.index_at(instant)
        if k < 0:
            return None
        for slot in self.slots(rotation_id, instant, instant + _TICK, clip=False):
            if slot.start <= instant < slot.end:
                return slot
        return None  # pragma: no cover - slots tile the shift

    def _shift_slots(self, state: _RotationState, shift: Shift, lo: datetime, hi: datetime) -> list[Slot]:
        rotation = state.rotation
        holidays = rotation.public_holidays
        spans = [s for s in state.overrides if s.start < hi and lo < s.end]
        people = {shift.primary, *(p for p in [shift.secondary] if p), *(s.person for s in spans)}
        cuts = {lo, hi}
        for span in spans:
            cuts.update(t for t in (span.start, span.end) if lo < t < hi)
        for person in people:
            for absence in self.availability.conflicts(person, lo, hi, holidays=holidays):
                cuts.update(t for t in (absence.start, absence.end) if lo < t < hi)
        points = sorted(cuts)
        slots: list[Slot] = []
        for a, b in pairwise(points):
            trail = list(shift.trail)
            primary, secondary, secondary_reduced = shift.primary, shift.secondary, shift.secondary_reduced
            over_primary = winning(spans, "primary", a, b)
            if over_primary is not None:
                primary = over_primary.person
                trail.append(Step("override", self._override_text(over_primary, shift.primary), f"override: {primary}"))
            over_secondary = winning(spans, "secondary", a, b) if secondary is not None else None
            if over_secondary is not None:
                secondary, secondary_reduced = over_secondary.person, False
                trail.append(Step("override", self._override_text(over_secondary, shift.secondary), f"override: {secondary}"))
            if secondary is not None and secondary == primary and over_primary is not None and over_secondary is None:
                secondary, step, secondary_reduced = self._stand_in_secondary(state, shift, primary, a, b)
                trail.append(step)
            # An override is an agreement to cover: its person's public holidays do not count
            # against it (their time off still does, and validate warns about it).
            primary_conflicts = self.availability.conflicts(primary, a, b, holidays=holidays and over_primary is None)
            secondary_conflicts = (
                self.availability.conflicts(secondary, a, b, holidays=holidays and over_secondary is None) if secondary else []
            )
            if primary_conflicts:
                first_up = f"the secondary {self.name(secondary)} is paged first" if secondary else "nobody else is on call"
                no_swap = ""
                if over_primary is None and shift.no_swap:
                    period_size = state.roster.period(shift.index).size
                    no_swap = (
                        f" and no swap was possible within {period_size - 1} shift(s) either way,"
                        " so they keep the shift with reduced duty"
                    )
                trail.append(
                    Step(
                        "reduced",
                        f"{self.name(primary)} is unavailable now ({primary_conflicts[0].describe()}){no_swap}: {first_up}",
                        f"{primary} away ({primary_conflicts[0].kind}): "
                        + ("secondary first" if secondary else "nobody on call"),
                    )
                )
            if secondary is not None and secondary_conflicts:
                trail.append(
                    Step(
                        "reduced",
                        f"secondary {self.name(secondary)} is unavailable now ({secondary_conflicts[0].describe()})",
                        f"secondary {secondary} away ({secondary_conflicts[0].kind})",
                    )
                )
            secondary_ok: bool | None = None if secondary is None else not secondary_conflicts
            slot = Slot(
                rotation=rotation.id,
                team=rotation.team,
                shift=shift.index,
                shift_start=shift.start,
                shift_end=shift.end,
                start=a,
                end=b,
                primary=primary,
                secondary=secondary,
                primary_available=not primary_conflicts,
                secondary_available=secondary_ok,
                trail=tuple(trail),
                secondary_reduced=secondary is not None and secondary_reduced,
            )
            previous = slots[-1] if slots else None
            if (
                previous is not None
                and previous.end == a
                and (
                    previous.primary,
                    previous.secondary,
                    previous.primary_available,
                    previous.secondary_available,
                    previous.secondary_reduced,
                    previous.trail,
                )
                == (primary, secondary, slot.primary_available, secondary_ok, slot.secondary_reduced, slot.trail)
            ):
                slots[-1] = _extend(previous, b)
            else:
                slots.append(slot)
        return slots

    def _stand_in_secondary(
        self, state: _RotationState, shift: Shift, primary: str, a: datetime, b: datetime
    ) -> tuple[str | None, Step, bool]:
        """The secondary when a primary override gave the role to the shift's secondary, and
        whether it has reduced duty (as :func:`choose_secondary` says)."""
        holidays = state.rotation.public_holidays
        replaced = shift.primary
        if replaced != primary and self.availability.available(replaced, a, b, holidays=holidays):
            return (
                replaced,
                Step(
                    "secondary",
                    f"{self.name(replaced)} is secondary while {self.name(primary)} covers as primary",
                    f"secondary: {replaced}",
                ),
                False,
            )
        period = state.roster.period(shift.index)
        chosen, _, reduced = choose_secondary(period, primary, a, b, self.availability, holidays=holidays, name=self.name)
        if chosen is None:
            return (
                None,
                Step("secondary", f"nobody else can be secondary while {self.name(primary)} covers as primary", "no secondary"),
                False,
            )
        return (
            chosen,
            Step(
                "secondary",
                f"{self.name(chosen)} is secondary while {self.name(primary)} covers as primary",
                f"secondary: {chosen}",
            ),
            reduced,
        )

    def _override_text(self, span: OverrideSpan, replaced: str | None) -> str:
        tz = self._state(span.override.rotation).grid.tz
        start, end = span.start.astimezone(tz), span.end.astimezone(tz)
        reason = f" ({span.override.reason})" if span.override.reason else ""
        instead = f" instead of {self.name(replaced)}" if replaced and replaced != span.person else ""
        return (
            f"{self.name(span.person)} is {span.role}{instead} by override "
            f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}{reason}"
        )


def _extend(slot: Slot, end: datetime) -> Slot:
    from dataclasses import replace

    return replace(slot, end=end)
