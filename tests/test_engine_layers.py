"""The schedule engine layer by layer, each on its own, on model values built in the test.

Base rotation (the shift grid and the roster), availability, swaps, reduced duty and the
secondary, overrides, roster changes: each test drives one layer's module directly, with
the layers below it real and small, so a failure names the layer that broke.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from opsctl.engine.schedule.availability import Availability, local_day, to_instant
from opsctl.engine.schedule.duty import choose_secondary
from opsctl.engine.schedule.overrides import override_spans, winning
from opsctl.engine.schedule.roster import Roster, RosterPeriod
from opsctl.engine.schedule.swaps import SwapResolver, search_order
from opsctl.model import Org, Override, Person, RosterChange, Rotation, Settings, Team, TimeOff
from opsctl.model.locations import SourceMap
from opsctl.model.shifts import ShiftGrid

BERLIN = ZoneInfo("Europe/Berlin")
PEOPLE = ("a", "b", "c", "d")


class Table:
    """A holiday calendar from a table: (country, year) → {date: name}."""

    def __init__(self, days: dict[tuple[str, int], dict[date, str]] | None = None) -> None:
        self.days = days or {}
        self.asked: list[tuple[str, str | None, int]] = []

    def holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        self.asked.append((country, subdivision, year))
        return self.days.get((country, year), {})

    def supported(self) -> dict[str, list[str]]:
        return {country: [] for country, _ in self.days}


def person(pid: str, zone: str = "Europe/Berlin", country: str | None = None) -> Person:
    return Person(pid, pid.upper(), f"{pid}@example.com", zone, country=country)


def rotation(**fields: object) -> Rotation:
    values: dict[str, object] = {
        "id": "r",
        "team": "t",
        "members": PEOPLE,
        "timezone": "Europe/Berlin",
        "start": date(2026, 1, 5),
    }
    values.update(fields)
    return Rotation(**values)  # type: ignore[arg-type]


def org(
    *,
    people: tuple[Person, ...] | None = None,
    rotations: tuple[Rotation, ...] = (),
    time_off: tuple[TimeOff, ...] = (),
    overrides: tuple[Override, ...] = (),
) -> Org:
    people = people or tuple(person(p) for p in PEOPLE)
    return Org(
        settings=Settings(),
        people={p.id: p for p in people},
        teams={"t": Team("t", "Team", tuple(p.id for p in people), lead=people[0].id)},
        pipelines={},
        rotations={r.id: r for r in rotations},
        time_off=time_off,
        overrides=overrides,
        catalogs=(),
        sources=SourceMap(),
    )


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


# -- base rotation: the shift grid --------------------------------------------------------


def test_weekly_handoffs_stay_at_local_time_across_dst() -> None:
    grid = ShiftGrid.of(rotation(start=date(2026, 3, 23)))  # Monday before the spring change (29 March)
    assert grid.boundary(0) == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert grid.boundary(1) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert grid.boundary(1) - grid.boundary(0) == timedelta(days=7, hours=-1)


def test_a_handoff_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    grid = ShiftGrid.of(rotation(start=date(2026, 3, 28), shift=timedelta(days=1), handoff=time(2, 30)))
    assert grid.boundary(1) == berlin(2026, 3, 29, 3, 30)  # 02:30 does not exist that night
    assert grid.boundary(1).astimezone(BERLIN).hour == 3


def test_a_handoff_that_happens_twice_is_the_first() -> None:
    grid = ShiftGrid.of(rotation(start=date(2026, 10, 24), shift=timedelta(days=1), handoff=time(2, 30)))
    assert grid.boundary(1) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, not CET


def test_index_at_finds_the_shift_of_an_instant() -> None:
    grid = ShiftGrid.of(rotation())
    assert grid.index_at(grid.boundary(0) - timedelta(seconds=1)) == -1
    assert grid.index_at(grid.boundary(0)) == 0
    assert grid.index_at(grid.boundary(30) - timedelta(microseconds=1)) == 29
    assert grid.index_at(grid.boundary(30)) == 30


# -- base rotation: the roster ------------------------------------------------------------


def test_the_base_primary_of_shift_k_is_members_k_mod_n() -> None:
    rot = rotation()
    roster = Roster(rot, ShiftGrid.of(rot))
    assert [roster.base_primary(k) for k in range(9)] == ["a", "b", "c", "d", "a", "b", "c", "d", "a"]
    assert roster.period_end(roster.period(100)) is None


def test_a_roster_change_continues_from_the_successor_still_on_the_roster() -> None:
    # shift 2 (c) is the last before the change; d leaves, so the walk from d finds a
    change = RosterChange(date(2026, 1, 26), ("a", "b", "c", "e"))
    rot = rotation(roster_changes=(change,))
    roster = Roster(rot, ShiftGrid.of(rot))
    assert [roster.base_primary(k) for k in range(8)] == ["a", "b", "c", "a", "b", "c", "e", "a"]
    first, second = roster.periods
    assert (first.first_shift, roster.period_end(first)) == (0, 3)
    assert second == RosterPeriod(3, ("a", "b", "c", "e"), 0, change)


def test_a_roster_change_may_name_who_takes_the_first_shift() -> None:
    change = RosterChange(date(2026, 1, 26), ("e", "f", "a"), first="f")
    rot = rotation(roster_changes=(change,))
    roster = Roster(rot, ShiftGrid.of(rot))
    assert [roster.base_primary(k) for k in range(7)] == ["a", "b", "c", "f", "a", "e", "f"]


def test_a_roster_change_off_a_handoff_is_not_applied() -> None:
    rot = rotation(roster_changes=(RosterChange(date(2026, 1, 27), ("e", "f")),))  # a Tuesday
    assert len(Roster(rot, ShiftGrid.of(rot)).periods) == 1


# -- availability ---------------------------------------------------------------------------


def test_time_off_dates_are_whole_local_days_both_included() -> None:
    entry = TimeOff("a", date(2026, 2, 2), date(2026, 2, 3), "Vacation")
    availability = Availability(org(time_off=(entry,)), Table())
    start, end = berlin(2026, 2, 2, 0, 0), berlin(2026, 2, 4, 0, 0)
    [absence] = availability.conflicts("a", start - timedelta(days=1), end + timedelta(days=1))
    assert (absence.start, absence.end, absence.kind, absence.time_off) == (start, end, "time-off", entry)
    assert availability.available("a", end, end + timedelta(hours=1))
    assert not availability.available("a", end - timedelta(minutes=1), end)
    assert availability.available("b", start, end)


def test_time_off_datetimes_without_offset_are_in_the_persons_zone() -> None:
    entry = TimeOff("a", datetime(2026, 2, 2, 9, 0), datetime(2026, 2, 2, 17, 0))
    people = (person("a", "America/Chicago"), person("b"))
    [absence] = Availability(org(people=people, time_off=(entry,)), Table()).conflicts(
        "a", datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 4, tzinfo=UTC)
    )
    assert (absence.start, absence.end) == (datetime(2026, 2, 2, 15, 0, tzinfo=UTC), datetime(2026, 2, 2, 23, 0, tzinfo=UTC))


def test_public_holidays_are_whole_local_days_of_the_persons_country() -> None:
    calendar = Table({("DE", 2026): {date(2026, 5, 1): "Labour Day"}})
    people = (person("a", country="DE"), person("b"))
    availability = Availability(org(people=people), calendar)
    day = local_day(date(2026, 5, 1), BERLIN)
    [absence] = availability.conflicts("a", *day)
    assert (absence.kind, absence.day, (absence.start, absence.end)) == ("holiday", date(2026, 5, 1), day)
    assert absence.describe() == "public holiday Labour Day (DE) on 2026-05-01"
    assert availability.available("a", *day, holidays=False)
    assert availability.available("b", *day)
    assert calendar.asked == [("DE", None, 2026)]


def test_holiday_years_are_loaded_once_each_as_queries_need_them() -> None:
    calendar = Table({("DE", 2027): {date(2027, 1, 1): "New Year's Day"}})
    availability = Availability(org(people=(person("a", country="DE"), person("b"))), calendar)
    availability.available("a", berlin(2026, 12, 30, 0, 0), berlin(2027, 1, 2, 0, 0))
    availability.available("a", berlin(2026, 12, 31, 0, 0), berlin(2027, 1, 1, 12, 0))
    assert calendar.asked == [("DE", None, 2026), ("DE", None, 2027)]


def test_gaps_merge_overlapping_absences_within_the_window() -> None:
    entries = (TimeOff("a", date(2026, 2, 2), date(2026, 2, 3)), TimeOff("a", date(2026, 2, 3), date(2026, 2, 5)))
    availability = Availability(org(time_off=entries), Table())
    window = (berlin(2026, 2, 3, 12, 0), berlin(2026, 2, 10, 0, 0))
    assert availability.gaps("a", *window) == [(window[0], berlin(2026, 2, 6, 0, 0))]


def test_dates_end_at_the_next_local_midnight() -> None:
    assert to_instant(date(2026, 3, 29), BERLIN, end_of_day=True) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert to_instant(date(2026, 3, 29), BERLIN) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


# -- swaps ------------------------------------------------------------------------------------


def test_the_swap_search_alternates_forward_and_back_within_bounds() -> None:
    assert list(search_order(5, 4, 0, None)) == [6, 4, 7, 3, 8, 2]
    assert list(search_order(1, 4, 0, None)) == [2, 0, 3, 4]
    assert list(search_order(5, 4, 4, 7)) == [6, 4]


def swaps_for(rot: Rotation, *time_off: TimeOff) -> tuple[SwapResolver, ShiftGrid]:
    the_org = org(rotations=(rot,), time_off=time_off)
    grid = ShiftGrid.of(rot)
    resolver = SwapResolver(grid, Roster(rot, grid), Availability(the_org, Table()), holidays=False, name=str)
    return resolver, grid


def test_an_unavailable_primary_swaps_with_the_next_shift() -> None:
    # b has shift 1 (12–19 Jan) and is away on the 14th: c (shift 2) takes it, b takes shift 2
    resolver, _ = swaps_for(rotation(), TimeOff("b", date(2026, 1, 14), date(2026, 1, 14)))
    state = resolver.resolve_through(3)
    assert [state.primary.get(k, base) for k, base in enumerate(PEOPLE)] == ["a", "c", "b", "d"]
    assert state.swapped_with == {1: 2, 2: 1}
    assert state.asked == {1}
    assert state.unswappable == set()
    assert [step.layer for step in state.steps[1]] == ["swap"]
    assert "swapped with shift 2" in state.steps[1][0].text


def test_the_swap_goes_back_when_the_next_primary_cannot_cover() -> None:
    # b (shift 1, 12–19 Jan) is away on the 14th; c (shift 2) is away on the 15th, so cannot
    # take shift 1: the search goes back to shift 0, whose a can
    away = (TimeOff("b", date(2026, 1, 14), date(2026, 1, 14)), TimeOff("c", date(2026, 1, 15), date(2026, 1, 15)))
    resolver, _ = swaps_for(rotation(), *away)
    state = resolver.resolve_through(3)
    assert state.swapped_with == {1: 0, 0: 1}
    assert (state.primary[0], state.primary[1]) == ("b", "a")


def test_nobody_to_swap_with_leaves_the_shift_unswappable() -> None:
    everyone_away = tuple(TimeOff(p, date(2026, 1, 5), date(2026, 2, 28)) for p in PEOPLE)
    resolver, _ = swaps_for(rotation(), *everyone_away)
    state = resolver.resolve_through(2)
    assert {0, 1, 2} <= state.unswappable
    assert state.swapped_with == {}


def test_swaps_never_cross_a_roster_change() -> None:
    change = RosterChange(date(2026, 1, 19), ("a", "b", "c", "d"), first="c")
    resolver, _ = swaps_for(rotation(roster_changes=(change,)), TimeOff("b", date(2026, 1, 14), date(2026, 1, 14)))
    state = resolver.resolve_through(3)
    assert state.swapped_with == {1: 0, 0: 1}  # shift 2 is under the new roster: b swaps back with a


# -- reduced duty and the secondary ----------------------------------------------------------


def test_the_secondary_is_the_next_member_available_all_shift() -> None:
    availability = Availability(org(time_off=(TimeOff("c", date(2026, 1, 6), date(2026, 1, 6)),)), Table())
    period = RosterPeriod(0, PEOPLE, 0, None)
    start, end = berlin(2026, 1, 5, 9, 0), berlin(2026, 1, 12, 9, 0)
    assert choose_secondary(period, "a", start, end, availability, holidays=True, name=str) == ("b", None, False)
    secondary, step, reduced = choose_secondary(period, "b", start, end, availability, holidays=True, name=str)
    assert (secondary, reduced) == ("d", False)
    assert step is not None and (step.layer, step.brief) == ("secondary", "secondary: c away")


def test_with_nobody_available_the_next_member_is_a_reduced_secondary() -> None:
    away = tuple(TimeOff(p, date(2026, 1, 6), date(2026, 1, 6)) for p in ("b", "c", "d"))
    availability = Availability(org(time_off=away), Table())
    secondary, step, reduced = choose_secondary(
        RosterPeriod(0, PEOPLE, 0, None),
        "a",
        berlin(2026, 1, 5, 9, 0),
        berlin(2026, 1, 12, 9, 0),
        availability,
        holidays=True,
        name=str,
    )
    assert (secondary, reduced) == ("b", True)
    assert step is not None and step.brief == "secondary: nobody available all shift"


def test_a_one_person_roster_has_no_secondary() -> None:
    availability = Availability(org(), Table())
    start, end = berlin(2026, 1, 5, 9, 0), berlin(2026, 1, 12, 9, 0)
    alone = RosterPeriod(0, ("a",), 0, None)
    assert choose_secondary(alone, "a", start, end, availability, holidays=True, name=str) == (None, None, False)


# -- overrides ------------------------------------------------------------------------------


def test_override_times_without_offset_are_in_the_rotations_zone_and_only_its_own() -> None:
    mine = Override("r", "d", datetime(2026, 1, 7, 9, 0), datetime(2026, 1, 7, 18, 0), reason="Swap agreed")
    other = Override("other", "c", datetime(2026, 1, 7, 9, 0), datetime(2026, 1, 8, 9, 0))
    rot = rotation()
    [span] = override_spans(org(rotations=(rot,), overrides=(mine, other)), rot)
    assert (span.start, span.end, span.role, span.person, span.override) == (
        berlin(2026, 1, 7, 9, 0),
        berlin(2026, 1, 7, 18, 0),
        "primary",
        "d",
        mine,
    )


def test_the_override_written_last_wins_and_only_where_it_covers() -> None:
    first = Override("r", "c", datetime(2026, 1, 7, 0, 0), datetime(2026, 1, 9, 0, 0))
    later = Override("r", "d", datetime(2026, 1, 8, 0, 0), datetime(2026, 1, 8, 12, 0))
    secondary = Override("r", "a", datetime(2026, 1, 7, 0, 0), datetime(2026, 1, 9, 0, 0), role="secondary")
    rot = rotation(depth=2)
    spans = override_spans(org(rotations=(rot,), overrides=(first, later, secondary)), rot)
    at = berlin(2026, 1, 8, 6, 0)
    assert winning(spans, "primary", at, at + timedelta(hours=1)).override is later  # type: ignore[union-attr]
    at = berlin(2026, 1, 8, 13, 0)
    assert winning(spans, "primary", at, at + timedelta(hours=1)).override is first  # type: ignore[union-attr]
    assert winning(spans, "secondary", at, at + timedelta(hours=1)).override is secondary  # type: ignore[union-attr]
    assert winning(spans, "primary", berlin(2026, 1, 8, 23, 0), berlin(2026, 1, 9, 1, 0)) is None  # not all covered


def test_an_override_that_ends_before_it_starts_is_ignored() -> None:
    backwards = Override("r", "c", datetime(2026, 1, 9, 0, 0), datetime(2026, 1, 7, 0, 0))
    rot = rotation()
    assert override_spans(org(rotations=(rot,), overrides=(backwards,)), rot) == []


@pytest.mark.parametrize("start", [date(2026, 1, 5), date(2026, 3, 23), date(2026, 10, 19)])
def test_every_layer_agrees_on_shift_boundaries(start: date) -> None:
    """Swaps, the roster and availability are asked about the grid's boundaries, in UTC."""
    rot = rotation(start=start)
    grid = ShiftGrid.of(rot)
    for k in range(6):
        local = grid.boundary(k).astimezone(BERLIN)
        assert (local.weekday(), local.time()) == (0, time(9, 0))
        assert grid.index_at(grid.boundary(k)) == k
