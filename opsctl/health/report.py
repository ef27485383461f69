"""The on-call health report: pages, off-hours pages and time to resolve, per team, pipeline and person.

:func:`build_report` is pure: the router's records, the org, a holiday calendar, the
period and the instant of the report come in; a :class:`Report` comes out.

- A record counts in the period when its first alert came in it (``start <= received_at
  < end``); its resolve may come later.
- A page counts *outside working hours* when it came outside the paged person's working
  hours (their own, else the org's, else Monday to Friday 09:00–18:00) or on one of their
  public holidays; *at night* between 22:00 and 07:00 (the night of ``opsctl fairness``);
  *on a weekend* on a day that is not one of their working days; *on a holiday* on a
  public holiday of their country (and subdivision). All in the person's own time zone.
  People no longer in the org are counted in UTC.
- Time to resolve is measured on the failures that paged: a failure posted to Slack for
  the morning waits for working hours by design. *Over the goal* are the failures
  resolved after the goal and those still open longer than the goal at ``now``.
- On-call hours come from :func:`opsctl.engine.fairness.fairness` over the same period
  (passed in as ``oncall``, not recomputed): each person's pages stand next to the hours
  they were on call, with fairness's flags.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from opsctl.engine.escalation import in_working_hours, working_hours_of
from opsctl.engine.fairness import NIGHT_END, NIGHT_START, Load, fairness
from opsctl.engine.holidays import HolidayCalendar
from opsctl.errors import UsageError
from opsctl.health.records import ONCALL_ROLES, OWNER_ROLES, AlertRecord, Page
from opsctl.model import Org, Person, WorkingHours
from opsctl.model.spelling import WEEKDAYS, did_you_mean

if TYPE_CHECKING:
    from opsctl.engine.schedule.resolve import Engine

FALLBACK_HOURS = WorkingHours()
"""Working hours of people when neither they nor the org set any: Monday to Friday, 09:00–18:00."""
DAILY_BUCKETS_UP_TO = timedelta(days=62)
"""Periods up to this long are charted per day, longer ones per week (from Monday)."""
WEEK_HOURS = 7 * 24.0


@dataclass(frozen=True)
class Tally:
    """Counts of one team, pipeline or failure over the period."""

    alerts: int = 0
    """Failures that came (records)."""
    paged: int = 0
    """Of them, those that paged."""
    held: int = 0
    """Of them, those only posted to Slack for the morning."""
    pages: int = 0
    """People paged (a failure that escalated pages several)."""
    off_hours: int = 0
    """Pages outside the paged person's working hours or on their public holiday."""
    night: int = 0
    """Pages between 22:00 and 07:00 of the paged person."""
    weekend: int = 0
    """Pages on a day that is not one of the paged person's working days."""
    holiday: int = 0
    """Pages on a public holiday of the paged person."""
    repeats: int = 0
    """Alerts of an open failure, coalesced into it."""
    grouped: int = 0
    """Other pipelines' failures attached to it for a shared data source."""

    @property
    def noise(self) -> int:
        """Every alert that came: the failures, their repeats and the failures attached to them."""
        return self.alerts + self.repeats + self.grouped


@dataclass(frozen=True)
class Resolution:
    """Time to resolve the failures that paged, against the goal."""

    goal: timedelta
    resolved: int = 0
    open: int = 0
    """Still open at the time of the report."""
    mean: timedelta | None = None
    """Mean time to resolve (MTTR) of the resolved ones; None when none was resolved."""
    median: timedelta | None = None
    p90: timedelta | None = None
    """90th percentile (nearest rank)."""
    longest: timedelta | None = None
    within_goal: int = 0
    """Resolved within the goal."""
    over_goal: int = 0
    """Resolved after the goal."""
    open_over_goal: int = 0
    """Still open, for longer than the goal already."""

    @property
    def meets_goal(self) -> bool | None:
        """Whether the MTTR is within the goal; None when nothing was resolved."""
        return None if self.mean is None else self.mean <= self.goal


@dataclass(frozen=True)
class TeamRow:
    team: str
    name: str
    tally: Tally
    resolution: Resolution


@dataclass(frozen=True)
class PipelineRow:
    pipeline: str | None
    """None: the alerts for ``team`` that matched no pipeline."""
    name: str
    team: str
    tier: str | None
    tally: Tally
    resolution: Resolution


@dataclass(frozen=True)
class FailureRow:
    """One failure (one key), however often it came."""

    key: str
    pipeline: str | None
    team: str
    summary: str
    """The summary of its latest record."""
    tally: Tally
    resolution: Resolution


@dataclass(frozen=True)
class PersonRow:
    """One person's pages over the period, beside their on-call hours."""

    person: str
    name: str
    timezone: str
    pages: int = 0
    as_owner: int = 0
    """Paged as a pipeline's primary or secondary owner."""
    as_oncall: int = 0
    """Paged as a rotation's on-call primary or secondary."""
    as_lead: int = 0
    off_hours: int = 0
    night: int = 0
    weekend: int = 0
    holiday: int = 0
    primary_hours: float = 0.0
    """On-call hours as primary in the period, from ``opsctl fairness``."""
    secondary_hours: float = 0.0
    """On-call hours as secondary in the period, from ``opsctl fairness``."""
    flags: tuple[str, ...] = ()
    """Imbalances ``opsctl fairness`` flags, prefixed with the rotation."""

    @property
    def oncall_hours(self) -> float:
        return self.primary_hours + self.secondary_hours

    @property
    def oncall_pages_per_week(self) -> float | None:
        """Pages as on-call per week on call; None for somebody who was not on call."""
        if self.oncall_hours <= 0:
            return None
        return self.as_oncall / (self.oncall_hours / WEEK_HOURS)


@dataclass(frozen=True)
class Bucket:
    """One day (or week) of the period, for the charts."""

    start: date
    """Its first day, in the report's zone."""
    alerts: int = 0
    held: int = 0
    pages_in_hours: int = 0
    pages_off_hours: int = 0
    resolved: int = 0
    """Failures that came this day (week), paged and were resolved."""
    mean_to_resolve: timedelta | None = None
    """Their mean time to resolve."""


@dataclass(frozen=True)
class Report:
    start: datetime
    end: datetime
    now: datetime
    """The instant of the report: open failures are aged to it."""
    goal: timedelta
    """The MTTR goal (``settings.mttr_goal``)."""
    team: str | None
    """The team asked for; None for every team."""
    zone: str
    """The zone of the charts' days."""
    bucket: Literal["day", "week"]
    total: TeamRow
    teams: tuple[TeamRow, ...]
    pipelines: tuple[PipelineRow, ...]
    """Noisiest first."""
    failures: tuple[FailureRow, ...]
    """The noisiest failures, at most ``limit``."""
    people: tuple[PersonRow, ...]
    """Most paged first."""
    series: tuple[Bucket, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self.total.tally.alerts == 0


# -- when a page came, for the person it woke ------------------------------------------------


@dataclass(frozen=True)
class _PageTime:
    off_hours: bool
    night: bool
    weekend: bool
    holiday: bool


class _Clock:
    """Classifies pages by the paged person's zone, working hours and public holidays."""

    def __init__(self, org: Org, calendar: HolidayCalendar) -> None:
        self.org = org
        self.calendar = calendar
        self._people: dict[str, Person] = {}
        self._holidays: dict[tuple[str, int], set[date]] = {}

    def _person(self, person_id: str) -> Person:
        """The person as the org has them, with working hours; somebody who left, in UTC."""
        found = self._people.get(person_id)
        if found is None:
            person = self.org.people.get(person_id)
            if person is None:
                person = Person(person_id, person_id, "", "UTC")
            if working_hours_of(person, self.org) is None:
                person = replace(person, working_hours=FALLBACK_HOURS)
            found = self._people[person_id] = person
        return found

    def _is_holiday(self, person: Person, day: date) -> bool:
        if person.country is None:
            return False
        key = (person.id, day.year)
        if key not in self._holidays:
            self._holidays[key] = set(self.calendar.holidays(person.country, person.subdivision, day.year))
        return day in self._holidays[key]

    def classify(self, page: Page) -> _PageTime:
        person = self._person(page.person)
        local = page.at.astimezone(ZoneInfo(person.timezone))
        hours = working_hours_of(person, self.org) or FALLBACK_HOURS
        holiday = self._is_holiday(person, local.date())
        clock = local.time().replace(tzinfo=None)
        night = clock >= NIGHT_START or clock < NIGHT_END
        weekend = WEEKDAYS[local.weekday()] not in hours.days
        return _PageTime(not in_working_hours(person, self.org, page.at) or holiday, night, weekend, holiday)


# -- counting ------------------------------------------------------------------------------


@dataclass
class _Counter:
    """The records of one team, pipeline or failure and the times of their pages, while they are read."""

    records: list[AlertRecord] = field(default_factory=list)
    times: list[_PageTime] = field(default_factory=list)

    def add(self, record: AlertRecord, times: Sequence[_PageTime]) -> None:
        self.records.append(record)
        self.times.extend(times)

    def tally(self) -> Tally:
        records, times = self.records, self.times
        return Tally(
            alerts=len(records),
            paged=sum(r.paged for r in records),
            held=sum(not r.paged for r in records),
            pages=len(times),
            off_hours=sum(t.off_hours for t in times),
            night=sum(t.night for t in times),
            weekend=sum(t.weekend for t in times),
            holiday=sum(t.holiday for t in times),
            repeats=sum(r.repeats for r in records),
            grouped=sum(r.grouped for r in records),
        )


def resolution(records: Iterable[AlertRecord], goal: timedelta, now: datetime) -> Resolution:
    """Time to resolve of the ``records`` that paged, against ``goal``, open ones aged to ``now``."""
    times: list[timedelta] = []
    still_open = open_over = 0
    for record in records:
        if not record.paged:
            continue
        took = record.time_to_resolve
        if took is None:
            still_open += 1
            open_over += now - record.received_at > goal
        else:
            times.append(took)
    if not times:
        return Resolution(goal, 0, still_open, open_over_goal=open_over)
    times.sort()
    within = sum(took <= goal for took in times)
    return Resolution(
        goal,
        len(times),
        still_open,
        _round(sum(times, timedelta(0)) / len(times)),
        _rank(times, 0.5),
        _rank(times, 0.9),
        times[-1],
        within,
        len(times) - within,
        open_over,
    )


def _rank(ordered: Sequence[timedelta], share: float) -> timedelta:
    """The nearest-rank percentile of sorted ``ordered``."""
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _round(value: timedelta) -> timedelta:
    return timedelta(seconds=round(value.total_seconds()))


# -- the report ----------------------------------------------------------------------------


def build_report(
    records: Iterable[AlertRecord],
    org: Org,
    calendar: HolidayCalendar,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: tzinfo,
    team: str | None = None,
    oncall: Mapping[str, Sequence[Load]] | None = None,
    limit: int = 10,
) -> Report:
    """The health of the on-call from ``start`` to ``end`` (see the module docstring).

    ``team`` keeps that team's records (:class:`UsageError` for a team the org does not
    have); ``oncall`` is :func:`~opsctl.engine.fairness.fairness` over the same period and
    the same team's rotations; ``zone`` names the days of the charts; ``limit`` caps the
    list of noisiest failures.
    """
    _known_team(org, team)
    goal = org.settings.mttr_goal
    clock = _Clock(org, calendar)
    kept = sorted(
        (r for r in records if start <= r.received_at < end and (team is None or r.team == team)),
        key=lambda r: (r.received_at, r.key),
    )
    total = _Counter()
    teams: dict[str, _Counter] = {t: _Counter() for t in org.teams if team is None or t == team}
    pipelines: dict[tuple[str | None, str], _Counter] = {}
    failures: dict[str, _Counter] = {}
    people: dict[str, list[tuple[Page, _PageTime]]] = {}
    bucket_of = _Bucketer(start, end, zone)
    buckets: dict[date, _BucketCounter] = {day: _BucketCounter() for day in bucket_of.days}

    for record in kept:
        times = [clock.classify(page) for page in record.pages]
        for counter in (
            total,
            teams.setdefault(record.team, _Counter()),
            pipelines.setdefault((record.pipeline, record.team), _Counter()),
            failures.setdefault(record.key, _Counter()),
        ):
            counter.add(record, times)
        for page, when in zip(record.pages, times, strict=True):
            people.setdefault(page.person, []).append((page, when))
            buckets[bucket_of(page.at)].page(when)
        buckets[bucket_of(record.received_at)].add(record)

    loads = _oncall_hours(oncall or {})
    for person_id, (primary, secondary, _flags) in loads.items():
        if primary + secondary > 0:
            people.setdefault(person_id, [])

    def team_row(team_id: str, counter: _Counter) -> TeamRow:
        found = org.teams.get(team_id)
        return TeamRow(team_id, found.name if found else team_id, counter.tally(), resolution(counter.records, goal, now))

    pipeline_rows = [
        _pipeline_row(org, pipeline_id, team_id, counter, resolution(counter.records, goal, now))
        for (pipeline_id, team_id), counter in pipelines.items()
    ]
    pipeline_rows.sort(key=lambda row: (-row.tally.noise, -row.tally.pages, row.pipeline or "", row.team))
    failure_rows = [
        FailureRow(
            key,
            counter.records[-1].pipeline,
            counter.records[-1].team,
            counter.records[-1].summary,
            counter.tally(),
            resolution(counter.records, goal, now),
        )
        for key, counter in failures.items()
    ]
    failure_rows.sort(key=lambda row: (-row.tally.noise, -row.tally.pages, row.key))
    person_rows = [_person_row(org, person_id, pages, loads.get(person_id)) for person_id, pages in people.items()]
    person_rows.sort(key=lambda row: (-row.pages, -row.off_hours, -row.oncall_hours, row.person))
    scope = team_row(team, total) if team is not None else TeamRow("", "All teams", total.tally(), resolution(kept, goal, now))
    return Report(
        start=start,
        end=end,
        now=now,
        goal=goal,
        team=team,
        zone=_zone_name(zone),
        bucket=bucket_of.size,
        total=scope,
        teams=tuple(team_row(team_id, counter) for team_id, counter in teams.items()),
        pipelines=tuple(pipeline_rows),
        failures=tuple(failure_rows[:limit]),
        people=tuple(person_rows),
        series=tuple(counter.bucket(day) for day, counter in buckets.items()),
    )


def _pipeline_row(org: Org, pipeline_id: str | None, team_id: str, counter: _Counter, solved: Resolution) -> PipelineRow:
    pipeline = org.pipelines.get(pipeline_id) if pipeline_id is not None else None
    if pipeline_id is None:
        found = org.teams.get(team_id)
        name = f"unmatched alerts for {found.name if found else team_id}"
    else:
        name = pipeline.name if pipeline is not None else pipeline_id
    tier = pipeline.tier if pipeline is not None else counter.records[-1].tier
    return PipelineRow(pipeline_id, name, team_id, tier, counter.tally(), solved)


def _oncall_hours(oncall: Mapping[str, Sequence[Load]]) -> dict[str, tuple[float, float, tuple[str, ...]]]:
    """Person → (primary hours, secondary hours, flags) summed over the rotations of ``oncall``."""
    out: dict[str, tuple[float, float, tuple[str, ...]]] = {}
    for rotation, loads in oncall.items():
        for load in loads:
            primary, secondary, flags = out.get(load.person, (0.0, 0.0, ()))
            out[load.person] = (
                primary + load.primary_hours,
                secondary + load.secondary_hours,
                flags + tuple(f"{rotation}: {flag}" for flag in load.flags),
            )
    return out


def _person_row(
    org: Org, person_id: str, pages: list[tuple[Page, _PageTime]], hours: tuple[float, float, tuple[str, ...]] | None
) -> PersonRow:
    person = org.people.get(person_id)
    primary, secondary, flags = hours or (0.0, 0.0, ())
    return PersonRow(
        person=person_id,
        name=person.name if person else person_id,
        timezone=person.timezone if person else "UTC",
        pages=len(pages),
        as_owner=sum(page.role in OWNER_ROLES for page, _ in pages),
        as_oncall=sum(page.role in ONCALL_ROLES for page, _ in pages),
        as_lead=sum(page.role == "lead" for page, _ in pages),
        off_hours=sum(when.off_hours for _, when in pages),
        night=sum(when.night for _, when in pages),
        weekend=sum(when.weekend for _, when in pages),
        holiday=sum(when.holiday for _, when in pages),
        primary_hours=round(primary, 2),
        secondary_hours=round(secondary, 2),
        flags=flags,
    )


# -- the charts' days ----------------------------------------------------------------------


@dataclass
class _BucketCounter:
    alerts: int = 0
    held: int = 0
    pages_in_hours: int = 0
    pages_off_hours: int = 0
    resolve_times: list[timedelta] = field(default_factory=list)

    def add(self, record: AlertRecord) -> None:
        self.alerts += 1
        self.held += not record.paged
        took = record.time_to_resolve
        if record.paged and took is not None:
            self.resolve_times.append(took)

    def page(self, when: _PageTime) -> None:
        if when.off_hours:
            self.pages_off_hours += 1
        else:
            self.pages_in_hours += 1

    def bucket(self, day: date) -> Bucket:
        times = self.resolve_times
        mean = _round(sum(times, timedelta(0)) / len(times)) if times else None
        return Bucket(day, self.alerts, self.held, self.pages_in_hours, self.pages_off_hours, len(times), mean)


class _Bucketer:
    """Maps an instant to the first day of its day (or week) in ``zone``, within the period."""

    def __init__(self, start: datetime, end: datetime, zone: tzinfo) -> None:
        self.zone = zone
        self.size: Literal["day", "week"] = "day" if end - start <= DAILY_BUCKETS_UP_TO else "week"
        first = self._floor(start.astimezone(zone).date())
        last = self._floor((end - timedelta(microseconds=1)).astimezone(zone).date())
        step = timedelta(days=1 if self.size == "day" else 7)
        self.days: list[date] = []
        day = first
        while day <= last:
            self.days.append(day)
            day += step

    def _floor(self, day: date) -> date:
        return day if self.size == "day" else day - timedelta(days=day.weekday())

    def __call__(self, instant: datetime) -> date:
        day = self._floor(instant.astimezone(self.zone).date())
        # a page after the period (an escalation of its last failure) goes to its last day
        return min(max(day, self.days[0]), self.days[-1])


def _zone_name(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return datetime.combine(date(2000, 1, 1), time(0), tzinfo=zone).tzname() or "UTC"


def health_report(
    records: Iterable[AlertRecord],
    org: Org,
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    zone: tzinfo,
    team: str | None = None,
) -> Report:
    """:func:`build_report` with each person's on-call hours from :func:`~opsctl.engine.fairness.fairness`
    over the same period and the rotations of ``team`` (every rotation without one)."""
    _known_team(org, team)
    rotations = [rotation.id for rotation in org.rotations.values() if team is None or rotation.team == team]
    loads = fairness(org, engine, start, end, rotations)
    calendar = engine.availability.calendar
    return build_report(records, org, calendar, start, end, now=now, zone=zone, team=team, oncall=loads)


def _known_team(org: Org, team: str | None) -> None:
    if team is not None and team not in org.teams:
        raise UsageError(f"unknown team {team!r}{did_you_mean(team, org.teams)}")
