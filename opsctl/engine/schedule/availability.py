"""When people are unavailable (docs/schedule.md#who-is-unavailable): time off and public holidays.

Dates are whole local days in the person's own time zone and a date range includes both
ends; datetimes without an offset are in the person's time zone. Public holidays come
from a :class:`~opsctl.system.holidays.HolidayCalendar` by the person's country and
subdivision, one whole local day each, and are computed lazily per year.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from opsctl.engine.holidays import HolidayCalendar
from opsctl.engine.intervals import merge_intervals
from opsctl.model import Org, Person, TimeOff
from opsctl.model.zones import zone


@dataclass(frozen=True)
class Absence:
    """A stretch of time a person is unavailable, and why."""

    person: str
    start: datetime
    end: datetime
    kind: Literal["time-off", "holiday"]
    reason: str
    time_off: TimeOff | None = None
    """The entry it came from, for time off."""
    day: date | None = None
    """The local date, for a public holiday."""

    def describe(self) -> str:
        if self.kind == "holiday":
            return f"public holiday {self.reason}" + (f" on {self.day.isoformat()}" if self.day else "")
        entry = self.time_off
        span = ""
        if entry is not None:
            span = f" {_show(entry.start)}" + (f" to {_show(entry.end)}" if entry.end != entry.start else "")
        label = f" ({self.reason})" if self.reason else ""
        return f"time off{span}{label}"


def _show(value: date | datetime) -> str:
    return value.isoformat(timespec="minutes") if isinstance(value, datetime) else value.isoformat()


@functools.lru_cache(maxsize=65536)
def local_day(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC interval of a whole local day (the same public holiday is asked for everybody of a country)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def to_instant(value: date | datetime, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """A UTC instant: naive datetimes are in ``tz``; dates are local midnight (or the next, for ends)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=tz)).astimezone(UTC)
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def time_off_interval(entry: TimeOff, person: Person) -> tuple[datetime, datetime]:
    tz = zone(person.timezone)
    return to_instant(entry.start, tz), to_instant(entry.end, tz, end_of_day=True)


class _Track:
    """One person's absences sorted by start, with running maximum ends for fast overlap queries."""

    def __init__(self) -> None:
        self.items: list[Absence] = []
        self.starts: list[datetime] = []
        self.max_ends: list[datetime] = []

    def add_all(self, absences: list[Absence]) -> None:
        self.items = sorted(self.items + absences, key=lambda a: (a.start, a.end))
        self.starts = [a.start for a in self.items]
        self.max_ends = []
        running: datetime | None = None
        for absence in self.items:
            running = absence.end if running is None or absence.end > running else running
            self.max_ends.append(running)

    def any_overlapping(self, start: datetime, end: datetime) -> bool:
        """Whether any absence overlaps ``[start, end)``: one bisection, as ends are running maxima."""
        i = bisect.bisect_left(self.starts, end) - 1
        return i >= 0 and self.max_ends[i] > start

    def overlapping(self, start: datetime, end: datetime) -> list[Absence]:
        i = bisect.bisect_left(self.starts, end) - 1
        found = []
        while i >= 0 and self.max_ends[i] > start:
            if self.items[i].end > start:
                found.append(self.items[i])
            i -= 1
        found.reverse()
        return found


class Availability:
    """Who is unavailable when, for the people of an org.

    ``holidays=False`` in a query leaves public holidays out (a rotation that does not
    count them).
    """

    def __init__(self, org: Org, calendar: HolidayCalendar) -> None:
        self.org = org
        self.calendar = calendar
        self._time_off: dict[str, _Track] = {}
        self._holidays: dict[str, _Track] = {}
        self._holiday_years: dict[str, set[int]] = {}
        self._holiday_cover: dict[str, tuple[datetime, datetime]] = {}
        for entry in org.time_off:
            person = org.people.get(entry.person)
            if person is None:
                continue
            start, end = time_off_interval(entry, person)
            if end <= start:
                continue
            track = self._time_off.setdefault(person.id, _Track())
            track.items.append(Absence(person.id, start, end, "time-off", entry.reason, entry))
        for track in self._time_off.values():
            track.add_all([])

    def _ensure_holidays(self, person_id: str, start: datetime, end: datetime) -> _Track | None:
        """The person's holiday track, loaded for every year that ``[start, end)`` touches.

        Loaded years stay contiguous, so "already loaded" is two comparisons against the
        UTC interval they cover: this runs once per availability query.
        """
        covered = self._holiday_cover.get(person_id)
        if covered is not None and covered[0] <= start and end <= covered[1]:
            return self._holidays[person_id]
        person = self.org.people.get(person_id)
        if person is None or person.country is None:
            return None
        tz = zone(person.timezone)
        first = start.astimezone(tz).year
        last = (end - timedelta(microseconds=1)).astimezone(tz).year if end > start else first
        done = self._holiday_years.setdefault(person_id, set())
        if done:
            first, last = min(first, min(done)), max(last, max(done))
        track = self._holidays.setdefault(person_id, _Track())
        suffix = f"{person.country}-{person.subdivision}" if person.subdivision else person.country
        new: list[Absence] = []
        for year in range(first, last + 1):
            if year in done:
                continue
            done.add(year)
            for day, name in self.calendar.holidays(person.country, person.subdivision, year).items():
                day_start, day_end = local_day(day, tz)
                new.append(Absence(person_id, day_start, day_end, "holiday", f"{name} ({suffix})", day=day))
        if new:
            track.add_all(new)
        self._holiday_cover[person_id] = (local_day(date(first, 1, 1), tz)[0], local_day(date(last, 12, 31), tz)[1])
        return track

    def conflicts(self, person: str, start: datetime, end: datetime, *, holidays: bool = True) -> list[Absence]:
        """The absences of ``person`` that overlap ``[start, end)``, in time order."""
        if end <= start:
            return []
        found: list[Absence] = []
        track = self._time_off.get(person)
        if track is not None:
            found.extend(track.overlapping(start, end))
        if holidays:
            holiday_track = self._ensure_holidays(person, start, end)
            if holiday_track is not None:
                found.extend(holiday_track.overlapping(start, end))
                found.sort(key=lambda a: (a.start, a.end))
        return found

    def available(self, person: str, start: datetime, end: datetime, *, holidays: bool = True) -> bool:
        """Whether ``person`` is available for all of ``[start, end)`` (no absence overlaps it)."""
        if end <= start:
            return True
        track = self._time_off.get(person)
        if track is not None and track.any_overlapping(start, end):
            return False
        if holidays:
            covered = self._holiday_cover.get(person)  # the check _ensure_holidays starts with, without the call
            if covered is not None and covered[0] <= start and end <= covered[1]:
                holiday_track: _Track | None = self._holidays[person]
            else:
                holiday_track = self._ensure_holidays(person, start, end)
            if holiday_track is not None and holiday_track.any_overlapping(start, end):
                return False
        return True

    def gaps(self, person: str, start: datetime, end: datetime, *, holidays: bool = True) -> list[tuple[datetime, datetime]]:
        """The merged intervals within ``[start, end)`` when ``person`` is unavailable."""
        conflicts = self.conflicts(person, start, end, holidays=holidays)
        return merge_intervals((max(a.start, start), min(a.end, end)) for a in conflicts)
