"""A time zone as an iCalendar VTIMEZONE in the usual form: yearly ``RRULE``s, as the IANA
rules are written (``FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU``).

The transitions come from the zone database that ``zoneinfo`` reads; this module only
writes them as rules. ``icalendar`` itself offers the other form (``Timezone.from_tzinfo``:
every transition as an ``RDATE``), which some clients misread; vzic-made zone files on PyPI
are years old; and ``ical``'s ``Timezone.from_tzif`` gets zones such as Europe/Dublin and
Africa/Casablanca wrong. Transitions that follow no yearly rule (Morocco's Ramadan, a
country changing its rules) get a component each.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from icalendar import Timezone

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

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
