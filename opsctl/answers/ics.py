"""Calendars: on-call duty as iCalendar, through the ``icalendar`` library.

One event per shift and role, whole: the stretch of a shift during which the same person
holds the role (an override that gives the role to somebody else for a while ends it).
Reduced duty and absences inside it do not split it; the description lists them with their
times. A team's feed has one event per shift and pair of people. UIDs are derived from the
rotation, the shift, the event's start and the role, so a calendar client that re-reads the
feed updates an event whose person changed instead of adding a second one, and an event
cut short by the start of a feed's window keeps its UID.

Each rotation's time zone is written as a VTIMEZONE in the usual form, yearly ``RRULE``s as
the IANA rules are written (``BYMONTH=3;BYDAY=-1SU``), computed from the zone database that
``zoneinfo`` reads. ``icalendar`` itself only writes a list of ``RDATE``s, which some
clients misread; transitions that follow no yearly rule (Morocco's Ramadan, a country
changing its rules) get a component each.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org

if TYPE_CHECKING:
    from icalendar import Timezone

PRODID = "-//opsctl//on-call schedule//EN"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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


# -- VTIMEZONE --------------------------------------------------------------------------------

RULE_SAMPLE_YEARS = 28
"""Transitions are sampled this far ahead to tell a zone's yearly rule: 28 years take every
date through every weekday, so "last Sunday", "second Sunday" and "Friday on or after the
23rd" are told apart, as zoneinfo applies the zone's current rule to future years."""


@dataclass(frozen=True)
class _Transition:
    at: datetime
    """The UTC instant."""
    before: timedelta
    after: timedelta
    daylight: bool
    name: str

    @property
    def onset(self) -> datetime:
        """The local wall time of the transition as the clock read before it (RFC 5545's DTSTART)."""
        return (self.at + self.before).replace(tzinfo=None)

    def rules(self) -> set[str]:
        """The yearly rules this onset's date satisfies: ``2SU`` (second Sunday), ``-1SU``
        (last Sunday), ``SU>=8`` (the Sunday on or after the 8th)."""
        day = self.onset
        weekday = _WEEKDAYS[day.weekday()]
        found = {f"{(day.day - 1) // 7 + 1}{weekday}"}
        length = month_calendar.monthrange(day.year, day.month)[1]
        if day.day + 7 > length:
            found.add(f"-1{weekday}")
        found.update(f"{weekday}>={first}" for first in range(max(1, day.day - 6), min(day.day, length - 6) + 1))
        return found


def _rrule(month: int, rule: str) -> dict[str, Any]:
    if ">=" in rule:
        weekday, first = rule.split(">=")
        days = list(range(int(first), int(first) + 7))
        return {"freq": "yearly", "bymonth": month, "byday": weekday, "bymonthday": days}
    return {"freq": "yearly", "bymonth": month, "byday": rule}


def _offset(zone: tzinfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or ""


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[_Transition]:
    """Every change of offset, DST flag or abbreviation in ``[start, end)``, to the minute
    (a day at a time: no zone changes twice within a day)."""
    out = []
    before = _offset(zone, start)
    at = start
    while at < end:
        nxt = at + timedelta(days=1)
        after = _offset(zone, nxt)
        if after != before:
            lo, hi = at, nxt  # the change happens in (lo, hi]
            while hi - lo > timedelta(minutes=1):
                mid = (lo + (hi - lo) / 2).replace(second=0, microsecond=0)
                if mid <= lo:
                    mid = lo + timedelta(minutes=1)
                if _offset(zone, mid) == before:
                    lo = mid
                else:
                    hi = mid
            out.append(_Transition(hi, before[0], after[0], after[1], after[2]))
            before = after
        at = nxt
    return out


def vtimezone(zone_name: str, first: date, last: date) -> Timezone:
    """The VTIMEZONE of ``zone_name`` for events from ``first`` to ``last``: each kind of
    transition as a yearly RRULE while it follows one (the rule in force left open, as the
    zone's rules are written), a component of its own where it follows none."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    zone = ZoneInfo(zone_name)
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    sample_end = max(end, start + timedelta(days=366 * RULE_SAMPLE_YEARS))
    component = Timezone()
    component.add("tzid", zone_name)

    def observance(daylight: bool, onset: datetime, before: timedelta, after: timedelta, name: str) -> Any:
        part = TimezoneDaylight() if daylight else TimezoneStandard()
        part.add("dtstart", onset)
        part.add("tzoffsetfrom", before)
        part.add("tzoffsetto", after)
        if name:
            part.add("tzname", name)
        component.add_component(part)
        return part

    offset, daylight, name = _offset(zone, start)
    observance(daylight, (start + offset).replace(tzinfo=None), offset, offset, name)
    groups: dict[tuple[timedelta, timedelta, bool, str], list[_Transition]] = {}
    for transition in _transitions(zone, start, sample_end):
        groups.setdefault((transition.before, transition.after, transition.daylight, transition.name), []).append(transition)
    for (before, after, daylight, name), members in groups.items():
        for run, rule in _yearly_runs(members):
            head, tail = run[0], run[-1]
            if head.at >= end:
                break  # after the last event: only sampled to tell the rule
            part = observance(daylight, head.onset, before, after, name)
            if len(run) > 1:
                recur = _rrule(head.onset.month, rule)
                if tail is not members[-1]:
                    recur["until"] = tail.at  # this rule ended (or another took over) within the sample
                part.add("rrule", recur)
    return component


def _yearly_runs(members: list[_Transition]) -> list[tuple[list[_Transition], str]]:
    """``members`` cut into runs of one transition a year on one yearly rule, with that rule."""
    runs: list[tuple[list[_Transition], str]] = []
    run: list[_Transition] = []
    common: set[str] = set()
    for transition in members:
        if run:
            previous, onset = run[-1].onset, transition.onset
            shared = common & transition.rules()
            if onset.year == previous.year + 1 and (onset.month, onset.time()) == (previous.month, previous.time()) and shared:
                run.append(transition)
                common = shared
                continue
            runs.append((run, _pick(common)))
        run, common = [transition], transition.rules()
    if run:
        runs.append((run, _pick(common)))
    return runs


def _pick(rules: set[str]) -> str:
    """The plainest rule: "last Sunday", then "second Sunday", then "Sunday on or after the 8th"."""
    return sorted(rules, key=lambda r: (0 if r.startswith("-") else 2 if ">=" in r else 1, r))[0]
