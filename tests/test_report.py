"""The pure health report on hand-made records: off-hours, nights, weekends and holidays in
each person's own zone (across DST), time to resolve against the goal, open and held
failures, empty periods, ordering; the text tables and the SVG charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl.engine.schedule.resolve import Engine
from opsctl.errors import UsageError
from opsctl.health.export import report_json
from opsctl.health.plots import charts, nice_ceiling
from opsctl.health.records import AlertRecord, Page
from opsctl.health.report import Report, build_report, health_report
from opsctl.health.text import render_text
from opsctl.model import Org
from opsctl.repo.loader import MemoryFiles, load
from opsctl.system.holidays import LibraryHolidays

CALENDAR = LibraryHolidays()
SVG = "{http://www.w3.org/2000/svg}"

OWNERSHIP = """\
settings:
  default_team: t
  working_hours: {{days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}}
{extra}
people:
  - {{id: ber, name: Berit, email: ber@example.com, timezone: Europe/Berlin, country: DE, subdivision: BE}}
  - {{id: chi, name: Chidi, email: chi@example.com, timezone: America/Chicago, country: US, subdivision: IL}}
  - id: tlv
    name: Tal
    email: tlv@example.com
    timezone: Asia/Jerusalem
    country: IL
    working_hours: {{days: [sun, mon, tue, wed, thu], start: "09:00", end: "18:00"}}
teams:
  - {{id: t, name: "R&D <core>", members: [ber, chi, tlv], lead: ber}}
  - {{id: u, name: Other, members: [chi]}}
pipelines:
  - {{id: p1, name: First, team: t, primary: ber, secondary: chi, tier: investor-facing, freshness_sla: 1d}}
  - {{id: p2, name: Second, team: t, primary: chi, secondary: ber, tier: experiment, freshness_sla: 1d}}
"""
ROTATION = """\
id: r
team: t
members: [ber, chi]
timezone: Europe/Berlin
start: 2026-01-05
handoff: "09:00"
public_holidays: false
"""


def make_org(extra: str = "", *, hours: bool = True) -> Org:
    text = OWNERSHIP.format(extra=extra)
    if not hours:
        text = text.replace('  working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}\n', "", 1)
    result = load(MemoryFiles({"ownership.yaml": text, "rotations/r.yaml": ROTATION}), catalog=False)
    assert result.ok, [f.headline() for f in result.findings]
    return result.org


ORG = make_org()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def record(
    when: str,
    *pages: tuple[str, str] | tuple[str, str, str],
    resolved: str | None = None,
    pipeline: str | None = "p1",
    team: str = "t",
    key: str | None = None,
    paged: bool = True,
    repeats: int = 0,
    grouped: int = 0,
) -> AlertRecord:
    """A record of a failure first seen at ``when`` paging ``(person, time[, role])`` in order."""
    return AlertRecord(
        received_at=at(when),
        resolved_at=at(resolved) if resolved else None,
        source="airflow",
        pipeline=pipeline,
        team=team,
        key=key or f"opsctl:{pipeline}",
        summary=f"{pipeline} failed",
        tier="investor-facing",
        paged=paged,
        pages=tuple(Page(p[0], at(p[1]), p[2] if len(p) == 3 else "pipeline_primary") for p in pages),
        repeats=repeats,
        grouped=grouped,
    )


def report_of(
    records: list[AlertRecord],
    start: str = "2026-01-01T00:00Z",
    end: str = "2027-01-01T00:00Z",
    *,
    org: Org = ORG,
    now: str = "2027-01-01T00:00Z",
    **kwargs: object,
) -> Report:
    return build_report(records, org, CALENDAR, at(start), at(end), now=at(now), zone=UTC, **kwargs)  # type: ignore[arg-type]


# -- when a page woke somebody ---------------------------------------------------------------

PAGE_TIMES = [
    # person, instant, (outside working hours, night, weekend, public holiday)
    ("ber", "2026-12-02T10:00+01:00", (False, False, False, False)),  # Wednesday morning
    ("ber", "2026-12-02T17:59+01:00", (False, False, False, False)),
    ("ber", "2026-12-02T18:00+01:00", (True, False, False, False)),  # the working day ends at 18:00
    ("ber", "2026-12-02T23:30+01:00", (True, True, False, False)),
    ("ber", "2026-12-02T06:59+01:00", (True, True, False, False)),
    ("ber", "2026-12-02T07:00+01:00", (True, False, False, False)),  # the night ends at 07:00
    ("ber", "2026-12-05T11:00+01:00", (True, False, True, False)),  # Saturday
    ("ber", "2026-12-25T10:00+01:00", (True, False, False, True)),  # Christmas, a Friday
    ("ber", "2026-03-08T11:00+01:00", (True, False, True, True)),  # Women's Day in Berlin, a Sunday
    ("ber", "2026-11-26T17:00+01:00", (False, False, False, False)),  # Thanksgiving is not hers
    ("chi", "2026-11-26T10:00-06:00", (True, False, False, True)),  # ... but his
    ("tlv", "2026-12-06T10:00+02:00", (False, False, False, False)),  # Sunday: a working day in Tel Aviv
    ("tlv", "2026-12-04T10:00+02:00", (True, False, True, False)),  # Friday is not
    # Chicago moves to daylight saving time at 02:00 on Sunday 8 March 2026
    ("chi", "2026-03-08T07:30Z", (True, True, True, False)),  # 01:30 CST
    ("chi", "2026-03-08T08:30Z", (True, True, True, False)),  # 03:30 CDT
    ("chi", "2026-03-06T14:30Z", (True, False, False, False)),  # Friday 08:30 CST: not yet at work
    ("chi", "2026-03-09T14:30Z", (False, False, False, False)),  # Monday 09:30 CDT: at work
    # Berlin leaves summer time on Sunday 25 October 2026
    ("ber", "2026-10-23T07:30Z", (False, False, False, False)),  # Friday 09:30 CEST
    ("ber", "2026-10-26T07:30Z", (True, False, False, False)),  # Monday 08:30 CET
    ("ber", "2026-10-26T08:30Z", (False, False, False, False)),  # Monday 09:30 CET
    # somebody who left the org: the org's working hours, in UTC
    ("gone", "2026-12-02T10:00Z", (False, False, False, False)),
    ("gone", "2026-12-02T23:00Z", (True, True, False, False)),
]


@pytest.mark.parametrize(("person", "instant", "expected"), PAGE_TIMES, ids=[f"{p}-{i}" for p, i, _ in PAGE_TIMES])
def test_a_page_is_placed_in_the_paged_persons_own_day(person: str, instant: str, expected: tuple[bool, ...]) -> None:
    found = report_of([record(instant, (person, instant))])
    tally = found.total.tally
    assert (tally.off_hours, tally.night, tally.weekend, tally.holiday) == tuple(int(flag) for flag in expected)
    [row] = found.people
    assert (row.person, row.pages, row.off_hours, row.night, row.weekend, row.holiday) == (person, 1, *map(int, expected))


def test_without_working_hours_in_the_org_the_report_counts_monday_to_friday_nine_to_six() -> None:
    org = make_org(hours=False)
    assert org.settings.working_hours is None
    found = report_of(
        [
            record("2026-12-02T08:00+01:00", ("ber", "2026-12-02T08:00+01:00")),
            record("2026-12-02T10:00+01:00", ("ber", "2026-12-02T10:00+01:00")),
        ],
        org=org,
    )
    assert found.total.tally.off_hours == 1


def test_each_person_paged_for_a_failure_is_counted_in_their_own_zone() -> None:
    # 03:00 in Berlin on a Saturday is Friday 20:00 in Chicago: one night page, one evening page
    found = report_of(
        [record("2026-12-05T02:00Z", ("ber", "2026-12-05T02:00Z", "oncall_primary"), ("chi", "2026-12-05T02:15Z", "lead"))]
    )
    assert (found.total.tally.pages, found.total.tally.night, found.total.tally.weekend) == (2, 1, 1)
    people = {row.person: row for row in found.people}
    assert (people["ber"].as_oncall, people["ber"].night, people["ber"].weekend) == (1, 1, 1)
    assert (people["chi"].as_lead, people["chi"].night, people["chi"].weekend, people["chi"].off_hours) == (1, 0, 0, 1)


# -- time to resolve -------------------------------------------------------------------------


def failures_to_resolve() -> list[AlertRecord]:
    return [
        record("2026-12-01T10:00Z", ("ber", "2026-12-01T10:00Z"), resolved="2026-12-01T10:30Z"),
        record("2026-12-02T10:00Z", ("ber", "2026-12-02T10:00Z"), resolved="2026-12-02T11:00Z"),
        record("2026-12-03T10:00Z", ("ber", "2026-12-03T10:00Z"), resolved="2026-12-03T13:00Z"),
        record("2026-12-10T09:00Z", ("ber", "2026-12-10T09:00Z")),  # open for 3 h at the report
        record("2026-12-10T11:00Z", ("ber", "2026-12-10T11:00Z"), key="other"),  # open for 1 h
        record("2026-12-04T22:00Z", pipeline="p2", paged=False, resolved="2026-12-05T08:00Z"),  # held: not measured
    ]


def test_time_to_resolve_is_measured_on_what_paged_against_the_goal() -> None:
    found = report_of(failures_to_resolve(), now="2026-12-10T12:00Z")
    r = found.total.resolution
    assert found.goal == timedelta(hours=2)
    assert (r.resolved, r.open, r.within_goal, r.over_goal, r.open_over_goal) == (3, 2, 2, 1, 1)
    assert (r.mean, r.median, r.p90, r.longest) == (
        timedelta(minutes=90),
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=3),
    )
    assert r.meets_goal is True
    assert (found.total.tally.alerts, found.total.tally.paged, found.total.tally.held) == (6, 5, 1)


def test_the_goal_is_a_setting() -> None:
    found = report_of(failures_to_resolve(), org=make_org("  mttr_goal: 1h"), now="2026-12-10T12:00Z")
    r = found.total.resolution
    assert (found.goal, r.meets_goal, r.within_goal, r.over_goal, r.open_over_goal) == (timedelta(hours=1), False, 2, 1, 1)
    assert report_json(found)["mttr_goal_seconds"] == 3600


def test_a_failure_resolved_after_the_period_still_counts_its_whole_time() -> None:
    found = report_of(
        [record("2026-12-31T23:00Z", ("ber", "2026-12-31T23:00Z"), resolved="2027-01-01T01:00Z")],
        "2026-12-31T00:00Z",
        "2027-01-01T00:00Z",
    )
    assert found.total.resolution.mean == timedelta(hours=2)


# -- periods, teams, ordering ----------------------------------------------------------------


def test_a_period_includes_its_start_and_not_its_end() -> None:
    records = [
        record("2026-12-01T00:00Z", ("ber", "2026-12-01T00:00Z")),
        record("2026-12-07T23:59Z", ("ber", "2026-12-07T23:59Z")),
        record("2026-12-08T00:00Z", ("ber", "2026-12-08T00:00Z")),
        record("2026-11-30T23:59Z", ("ber", "2026-11-30T23:59Z")),
    ]
    found = report_of(records, "2026-12-01T00:00Z", "2026-12-08T00:00Z")
    assert found.total.tally.alerts == 2
    assert [b.start for b in found.series] == [date(2026, 12, day) for day in range(1, 8)]
    assert (found.series[0].pages_off_hours, found.series[-1].pages_off_hours) == (1, 1)


def test_an_empty_period_says_so_and_still_shows_who_was_on_call() -> None:
    engine = Engine(ORG, CALENDAR)
    found = health_report(
        [], ORG, engine, at("2026-01-05T08:00Z"), at("2026-01-19T08:00Z"), now=at("2026-01-19T08:00Z"), zone=UTC
    )
    assert found.empty
    assert [(row.team, row.tally.alerts) for row in found.teams] == [("t", 0), ("u", 0)]
    assert found.total.resolution.mean is None and found.total.resolution.meets_goal is None
    assert [(row.person, row.pages, row.primary_hours) for row in found.people] == [("ber", 0, 168.0), ("chi", 0, 168.0)]
    text = render_text(found, width=80)
    assert text.splitlines()[:2] == [
        "On-call health, all teams: 2026-01-05 08:00 to 2026-01-19 08:00 (UTC)",
        "No failure was routed in this period.",
    ]
    assert "Noisiest" not in text and "Berit (ber)" in text
    data = report_json(found)
    assert json.loads(json.dumps(data)) == data
    assert data["people"][0]["oncall_pages_per_week"] == 0.0
    assert all(ET.fromstring(svg) is not None for svg in charts(found).values())


def test_a_team_keeps_its_own_records_and_an_unknown_team_is_a_usage_error() -> None:
    records = [
        record("2026-12-02T10:00Z", ("ber", "2026-12-02T10:00Z")),
        record("2026-12-02T11:00Z", ("chi", "2026-12-02T11:00Z"), team="u", pipeline=None),
    ]
    found = report_of(records, team="u")
    assert (found.total.name, found.total.tally.alerts, [row.team for row in found.teams]) == ("Other", 1, ["u"])
    assert [(row.pipeline, row.name) for row in found.pipelines] == [(None, "unmatched alerts for Other")]
    with pytest.raises(UsageError, match=r"^unknown team 'uu' \(did you mean 'u'\?\)$"):
        report_of(records, team="uu")


def test_the_noisiest_come_first_and_failures_are_capped() -> None:
    records = [
        record("2026-12-01T10:00Z", ("ber", "2026-12-01T10:00Z"), key="a"),
        record("2026-12-02T10:00Z", ("ber", "2026-12-02T10:00Z"), key="a", repeats=1),
        record("2026-12-03T10:00Z", ("chi", "2026-12-03T10:00Z"), pipeline="p2", key="b", repeats=5),
        record("2026-12-04T10:00Z", ("chi", "2026-12-04T10:00Z"), pipeline="p2", key="c", grouped=3),
        record("2026-12-05T10:00Z", ("chi", "2026-12-05T10:00Z"), pipeline="p2", key="d"),
    ]
    found = report_of(records, limit=2)
    assert [(row.pipeline, row.tally.noise) for row in found.pipelines] == [("p2", 11), ("p1", 3)]
    assert [(row.key, row.tally.noise) for row in found.failures] == [("b", 6), ("c", 4)]
    assert [(row.person, row.pages) for row in found.people] == [("chi", 3), ("ber", 2)]


def test_pages_stand_beside_the_hours_fairness_counted() -> None:
    engine = Engine(ORG, CALENDAR)
    # three weeks from the first handoff: Berit is primary twice, Chidi once
    start, end = at("2026-01-05T08:00Z"), at("2026-01-26T08:00Z")
    records = [record("2026-01-13T10:00Z", ("chi", "2026-01-13T10:00Z", "oncall_primary"))]
    found = health_report(records, ORG, engine, start, end, now=end, zone=UTC)
    people = {row.person: row for row in found.people}
    assert (people["ber"].primary_hours, people["chi"].primary_hours) == (336.0, 168.0)
    assert people["chi"].oncall_pages_per_week == 1.0
    assert people["ber"].flags == ("r: primary hours 33% above the rotation mean",)
    assert people["chi"].flags == ("r: primary hours 33% below the rotation mean",)


def test_long_periods_are_charted_per_week_in_the_reports_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    night_of_dst = record("2026-03-29T22:30Z", ("ber", "2026-03-29T22:30Z"))  # 00:30 CEST on Monday 30 March
    daily = build_report(
        [night_of_dst],
        ORG,
        CALENDAR,
        at("2026-03-23T00:00+01:00"),
        at("2026-04-06T00:00+02:00"),
        now=at("2026-05-01T00:00Z"),
        zone=berlin,
    )
    assert daily.bucket == "day" and daily.zone == "Europe/Berlin"
    assert [b.start for b in daily.series if b.alerts] == [date(2026, 3, 30)]
    in_utc = report_of([night_of_dst], "2026-03-23T00:00Z", "2026-04-06T00:00Z")
    assert [b.start for b in in_utc.series if b.alerts] == [date(2026, 3, 29)]
    weekly = report_of([night_of_dst], "2026-01-01T00:00Z", "2026-04-01T00:00Z")
    assert weekly.bucket == "week"
    assert weekly.series[0].start == date(2025, 12, 29) and all(b.start.weekday() == 0 for b in weekly.series)
    assert [b.start for b in weekly.series if b.alerts] == [date(2026, 3, 23)]


# -- text ------------------------------------------------------------------------------------


def test_the_text_report_fits_its_width_everywhere() -> None:
    found = report_of(failures_to_resolve(), now="2026-12-10T12:00Z")
    for width in (60, 80, 100, 160):
        for boxed in (False, True):
            text = render_text(found, width=width, boxed=boxed)
            assert max(len(line) for line in text.splitlines()) <= width, (width, boxed)
            assert "Summary" in text.replace("SUMMARY", "Summary")  # a free-text column wraps, it does not leave
    assert "MTTR 1h30m, within the goal of 2h" in render_text(found, width=None)


# -- charts ----------------------------------------------------------------------------------


def test_the_charts_are_valid_svg_with_a_tooltip_per_bar_and_escaped_text() -> None:
    records = [
        *failures_to_resolve(),
        record("2026-12-05T11:00+01:00", ("ber", "2026-12-05T11:00+01:00"), pipeline=None, repeats=2),
    ]
    found = report_of(records, "2026-12-01T00:00Z", "2026-12-15T00:00Z", now="2026-12-15T00:00Z")
    drawn = charts(found)
    assert list(drawn) == ["pages", "mttr", "people", "pipelines"]
    trees = {name: ET.fromstring(svg) for name, svg in drawn.items()}
    for tree in trees.values():
        assert tree.get("role") == "img" and tree.find(f"{SVG}title") is not None and tree.find(f"{SVG}desc") is not None
    page_bars = [rect for rect in trees["pages"].iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    tips = [bar.find(f"{SVG}title").text for bar in page_bars]  # type: ignore[union-attr]
    assert tips == [  # a bar for each day with pages: the 1st, 2nd, 3rd, 5th (a Saturday) and 10th
        "1 Dec: 1 in working hours, 0 outside",
        "2 Dec: 1 in working hours, 0 outside",
        "3 Dec: 1 in working hours, 0 outside",
        "5 Dec: 0 in working hours, 1 outside",
        "10 Dec: 2 in working hours, 0 outside",
    ]
    cut = [text for text in trees["pipelines"].iter(f"{SVG}text") if text.find(f"{SVG}title") is not None]
    [(tip, shown)] = [(text.find(f"{SVG}title").text, text[0].tail) for text in cut]  # type: ignore[union-attr]
    assert (tip, shown) == ("unmatched alerts for R&D <core>", "unmatched alerts for R&D <cor…")  # cut, whole on hover
    assert "&amp;" in drawn["pipelines"] and "<core>" not in drawn["pipelines"]
    goal = [line for line in trees["mttr"].iter(f"{SVG}line") if "dasharray" in (line.get("style") or "")]
    assert len(goal) == 1


@given(st.floats(min_value=0.001, max_value=1e7, allow_nan=False))
def test_an_axis_reaches_past_every_value_in_a_few_round_steps(value: float) -> None:
    top, step = nice_ceiling(value)
    assert top >= value * (1 - 1e-9) and 1 <= top / step <= 8
    mantissa = step / 10 ** __import__("math").floor(__import__("math").log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0)
    whole_top, whole_step = nice_ceiling(value, whole=True)
    assert whole_step >= 1 and whole_top >= value * (1 - 1e-9)
