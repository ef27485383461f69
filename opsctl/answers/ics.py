"""Calendars: on-call slots as iCalendar, through the ``icalendar`` library.

One event per slot (a shift, or the part of it an override or an absence changes), with
the rotation's time zone as a VTIMEZONE. UIDs are derived from the rotation, the shift,
the slot's start and the role, so a calendar client that re-reads the feed updates an
event whose person changed instead of adding a second one.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org

PRODID = "-//opsctl//on-call schedule//EN"


def _uid(slot: Slot, role: str) -> str:
    return f"{slot.rotation}-{slot.shift}-{slot.start:%Y%m%dT%H%M%SZ}-{role}@opsctl"


def _name(org: Org, person: str | None) -> str:
    if person is None:
        return "nobody"
    found = org.people.get(person)
    return found.name if found else person


def to_ics(org: Org, slots: list[Slot], *, person: str | None, now: datetime, title: str) -> bytes:
    """An iCalendar feed; with ``person``, only their duty, one event per role."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    for slot in slots:
        rotation = org.rotations[slot.rotation]
        zone = ZoneInfo(rotation.timezone)
        roles = [("primary", slot.primary), ("secondary", slot.secondary)] if person else [("oncall", slot.primary)]
        for role, who in roles:
            if person is not None and who != person:
                continue
            event = Event()
            event.add("uid", _uid(slot, role))
            event.add("dtstamp", now)
            event.add("dtstart", slot.start.astimezone(zone))
            event.add("dtend", slot.end.astimezone(zone))
            if person is not None:
                summary = f"On call ({role}): {rotation.title}"
            else:
                second = f", secondary {_name(org, slot.secondary)}" if slot.secondary else ""
                summary = f"{rotation.title}: {_name(org, slot.primary)}{second}"
            if slot.reduced:
                summary += " (reduced)"
            event.add("summary", summary)
            lines = [f"Primary: {_name(org, slot.primary)}"]
            if slot.secondary:
                lines.append(f"Secondary: {_name(org, slot.secondary)}")
            lines += [f"- {reason}" for reason in slot.reasons]
            event.add("description", "\n".join(lines))
            event.add("categories", ["on-call", rotation.team])
            event.add("transp", "TRANSPARENT")
            calendar.add_component(event)
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data
