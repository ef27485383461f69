"""Calendars: on-call duty as iCalendar, through the ``icalendar`` library.

One event per shift and role, whole: the stretch of a shift during which the same person
holds the role (an override that gives the role to somebody else for a while ends it).
Reduced duty and absences inside it do not split it; the description lists them with their
times. A team's feed has one event per shift and pair of people. UIDs are derived from the
rotation, the shift's start, the role and the part of the shift, so a calendar client that
re-reads the feed updates an event whose person changed instead of adding a second one,
and an event cut short by the start of a feed's window keeps its UID.

Each rotation's time zone is written as a VTIMEZONE in yearly ``RRULE``s
(:mod:`opsctl.answers.vtimezone`).

:func:`calendar_feed` is the one way to a feed: ``opsctl schedule --format ics`` and the
server's ``/calendars/{rotation}.ics`` both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from opsctl.answers.oncall import schedule_slots
from opsctl.answers.vtimezone import vtimezone
from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org

PRODID = "-//opsctl//on-call schedule//EN"


@dataclass(frozen=True)
class Duty:
    """One event: consecutive slots of one shift in which ``person`` holds ``role`` (the
    primary, for a team's feed, with ``partner`` the secondary)."""

    role: str
    person: str | None
    partner: str | None
    slots: tuple[Slot, ...]
    part: int = 0
    """Which stretch of the shift in this role it is, from 0 (an override can cut a shift in parts)."""

    @property
    def first(self) -> Slot:
        return self.slots[0]

    @property
    def start(self) -> datetime:
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        return self.slots[-1].end


def duties(slots: list[Slot], person: str | None) -> list[Duty]:
    """The events of ``slots`` (in time order per rotation): one per shift and role, whole."""
    out: list[Duty] = []
    open_by_key: dict[tuple[str, int, str], Duty] = {}
    for slot in sorted(slots, key=lambda s: (s.rotation, s.start)):
        holdings: list[tuple[str, str | None, str | None]]
        if person is None:
            holdings = [("oncall", slot.primary, slot.secondary)]
        else:
            holdings = [(role, who, None) for role, who in (("primary", slot.primary), ("secondary", slot.secondary))]
            holdings = [h for h in holdings if h[1] == person]
        for role, who, partner in holdings:
            key = (slot.rotation, slot.shift, role)
            current = open_by_key.get(key)
            if current is not None and current.end == slot.start and (current.person, current.partner) == (who, partner):
                grown = Duty(role, who, partner, (*current.slots, slot), current.part)
                out[out.index(current)] = grown
                open_by_key[key] = grown
            else:
                duty = Duty(role, who, partner, (slot,), 0 if current is None else current.part + 1)
                out.append(duty)
                open_by_key[key] = duty
    out.sort(key=lambda d: (d.start, d.first.rotation, d.role))
    return out


def _uid(duty: Duty) -> str:
    """Stable across windows: the rotation, the shift (and its start), the role and the part."""
    part = f"-{duty.part + 1}" if duty.part else ""
    first = duty.first
    return f"{first.rotation}-{first.shift}-{first.shift_start.astimezone(UTC):%Y%m%dT%H%M%SZ}-{duty.role}{part}@opsctl"


def _name(org: Org, person: str | None) -> str:
    if person is None:
        return "nobody"
    found = org.people.get(person)
    return found.name if found else person


def _describe(org: Org, duty: Duty, zone: ZoneInfo) -> tuple[str, bool]:
    """The event's description, and whether any part of it is reduced duty."""
    first = duty.first
    lines = [f"Primary: {_name(org, first.primary)}"]
    if first.secondary:
        lines.append(f"Secondary: {_name(org, first.secondary)}")
    common = [reason for reason in first.reasons if all(reason in slot.reasons for slot in duty.slots)]
    lines += [f"- {reason}" for reason in common]
    reduced = False
    changes: list[str] = []
    for slot in duty.slots:
        extra = [step.short for step in slot.trail if step.layer != "base" and step.text not in common]
        if not (slot.reduced or slot.secondary_available is False or extra):
            continue
        reduced = reduced or slot.reduced
        what = "; ".join(extra) or "reduced duty"
        if slot.reduced and slot.secondary and "secondary first" not in what:
            what += f"; {_name(org, slot.secondary)} is paged first"
        changes.append(
            f"- {slot.start.astimezone(zone):%a %Y-%m-%d %H:%M} to {slot.end.astimezone(zone):%a %Y-%m-%d %H:%M}: {what}"
        )
    if changes:
        lines.append("Within this shift:" if len(duty.slots) > 1 else "All of it:")
        lines += changes
    return "\n".join(lines), reduced


def to_ics(org: Org, slots: list[Slot], *, person: str | None, now: datetime, title: str) -> bytes:
    """An iCalendar feed; with ``person``, only their duty, one event per shift and role."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    events = []
    spans: dict[str, tuple[datetime, datetime]] = {}
    for duty in duties(slots, person):
        rotation = org.rotations[duty.first.rotation]
        zone = ZoneInfo(rotation.timezone)
        lo, hi = spans.get(rotation.timezone, (duty.start, duty.end))
        spans[rotation.timezone] = (min(lo, duty.start), max(hi, duty.end))
        event = Event()
        event.add("uid", _uid(duty))
        event.add("dtstamp", now)
        event.add("dtstart", duty.start.astimezone(zone))
        event.add("dtend", duty.end.astimezone(zone))
        description, reduced = _describe(org, duty, zone)
        if person is not None:
            summary = f"On call ({duty.role}): {rotation.title}"
        else:
            second = f", secondary {_name(org, duty.partner)}" if duty.partner else ""
            summary = f"{rotation.title}: {_name(org, duty.person)}{second}"
        if reduced:
            summary += " (reduced duty in part)" if len(duty.slots) > 1 else " (reduced duty)"
        event.add("summary", summary)
        event.add("description", description)
        event.add("categories", ["on-call", rotation.team])
        event.add("transp", "TRANSPARENT")
        events.append(event)
    for name, (lo, hi) in sorted(spans.items()):
        calendar.add_component(vtimezone(name, date(lo.year, 1, 1), date(hi.year + 2, 1, 1)))
    for event in events:
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def calendar_feed(
    org: Org,
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    title: str,
    team: str | None = None,
    person: str | None = None,
    rotation: str | None = None,
) -> bytes:
    """The feed of every shift that ``[start, end)`` touches, whole (see :func:`schedule_slots`
    for ``team``, ``person`` and ``rotation``)."""
    slots = schedule_slots(org, engine, start, end, team=team, person=person, rotation=rotation, whole_shifts=True)
    return to_ics(org, slots, person=person, now=now, title=title)
