"""`opsctl fairness`: how the on-call load fell on each person, per rotation.

Hours are counted from the resolved slots (after swaps and overrides) within the window.
Night hours are 22:00–07:00 and weekend hours Saturday and Sunday, both in the person's
own time zone; public-holiday hours are those on the person's own public holidays.
A person whose primary hours differ from the rotation's mean by more than
:data:`IMBALANCE` is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.model.zones import zone

IMBALANCE = 0.25
NIGHT_START = time(22, 0)
NIGHT_END = time(7, 0)


@dataclass
class Load:
    """One person's on-call load in one rotation."""

    rotation: str
    person: str
    primary_shifts: int = 0
    secondary_shifts: int = 0
    primary_hours: float = 0.0
    secondary_hours: float = 0.0
    night_hours: float = 0.0
    weekend_hours: float = 0.0
    holiday_hours: float = 0.0
    swaps_given: int = 0
    """Shifts this person took over from somebody who was away."""
    swaps_received: int = 0
    """This person's shifts that somebody else took over while they were away."""
    override_hours: float = 0.0
    flags: list[str] = field(default_factory=list)


def _overlap_hours(a: datetime, b: datetime, c: datetime, d: datetime) -> float:
    lo, hi = max(a, c), min(b, d)
    return max((hi - lo).total_seconds(), 0.0) / 3600


def _split_hours(start: datetime, end: datetime, zone: ZoneInfo, holidays: set[object]) -> tuple[float, float, float]:
    """(night, weekend, holiday) hours of ``[start, end)`` in local time of ``zone``."""
    night = weekend = holiday = 0.0
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        night += _overlap_hours(start, end, midnight, datetime.combine(day, NIGHT_END, tzinfo=zone))
        night += _overlap_hours(start, end, datetime.combine(day, NIGHT_START, tzinfo=zone), next_midnight)
        whole = _overlap_hours(start, end, midnight, next_midnight)
        if day.weekday() >= 5:
            weekend += whole
        if day in holidays:
            holiday += whole
        day += timedelta(days=1)
    return night, weekend, holiday


def fairness(org: Org, engine: Engine, start: datetime, end: datetime, rotations: list[str]) -> dict[str, list[Load]]:
    """Per rotation, the load of each person who was on its roster or on call in the window."""
    out: dict[str, list[Load]] = {}
    for rotation_id in rotations:
        rotation = org.rotations[rotation_id]
        loads: dict[str, Load] = {}

        def load(person: str, rotation_id: str = rotation_id, loads: dict[str, Load] = loads) -> Load:
            return loads.setdefault(person, Load(rotation_id, person))

        for member in rotation.members:
            load(member)
        counted_shifts: set[int] = set()
        for slot in engine.slots(rotation_id, start, end):
            hours = (slot.end - slot.start).total_seconds() / 3600
            primary = load(slot.primary)
            primary.primary_hours += hours
            person = org.people.get(slot.primary)
            if person is not None:
                days = {a.day for a in engine.availability.conflicts(slot.primary, slot.start, slot.end) if a.kind == "holiday"}
                night, weekend, holiday = _split_hours(slot.start, slot.end, zone(person.timezone), set(days))
                primary.night_hours += night
                primary.weekend_hours += weekend
                primary.holiday_hours += holiday
            if any(step.layer == "override" for step in slot.trail):
                primary.override_hours += hours
            if slot.secondary is not None:
                load(slot.secondary).secondary_hours += hours
            if slot.shift not in counted_shifts:
                counted_shifts.add(slot.shift)
                shift = engine.shift(rotation_id, slot.shift)
                load(shift.primary).primary_shifts += 1
                if shift.secondary is not None:
                    load(shift.secondary).secondary_shifts += 1
                if shift.swap_asked:
                    load(shift.base_primary).swaps_received += 1
                    load(shift.primary).swaps_given += 1
        _flag(list(loads.values()))
        out[rotation_id] = sorted(loads.values(), key=lambda item: item.person)
    return out


def _flag(loads: list[Load]) -> None:
    if len(loads) < 2:
        return
    mean = sum(item.primary_hours for item in loads) / len(loads)
    if mean <= 0:
        return
    for item in loads:
        ratio = item.primary_hours / mean - 1
        if abs(ratio) > IMBALANCE:
            item.flags.append(f"primary hours {abs(ratio):.0%} {'above' if ratio > 0 else 'below'} the rotation mean")
    holiday_mean = sum(item.holiday_hours for item in loads) / len(loads)
    for item in loads:
        if holiday_mean > 0 and item.holiday_hours > 2 * holiday_mean:
            item.flags.append("more than twice the mean public-holiday hours")
