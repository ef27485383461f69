"""Calendars read back by two independent parsers, icalendar and vobject: the time zone in
the usual RRULE form, each handoff at its local time, one event per shift and role."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from opsctl.answers.vtimezone import vtimezone
from tests.support import REPO_ROOT, run

BERLIN = ZoneInfo("Europe/Berlin")


def feed(*args: str) -> bytes:
    result = run("schedule", *args, "--format", "ics", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def vobject_events(data: bytes) -> list[tuple[str, datetime, datetime]]:
    """(summary, start, end) as vobject reads them, with the feed's own VTIMEZONE."""
    parsed = vobject.readOne(data.decode("utf-8"))
    return [(e.summary.value, e.dtstart.value, e.dtend.value) for e in parsed.vevent_list]


def test_the_time_zone_is_written_as_yearly_rules() -> None:
    data = feed("--person", "de3", "--from", "2027-06-01", "--weeks", "6").decode()
    zone = data.split("BEGIN:VTIMEZONE", 1)[1].split("END:VTIMEZONE", 1)[0]
    assert "RDATE" not in zone
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in zone
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in zone


def test_a_summer_handoff_lands_at_nine_local_in_vobject() -> None:
    # the data-eng handoff is Monday 09:00 Europe/Berlin: in June that is 09:00 CEST (+02:00)
    events = vobject_events(feed("--person", "de3", "--from", "2027-06-01", "--weeks", "6"))
    assert events
    for _, start, end in events:
        for instant in (start, end):
            local = instant.astimezone(BERLIN)
            assert (local.hour, local.minute, local.utcoffset()) == (9, 0, timedelta(hours=2)), instant
            assert local.weekday() == 0


def test_one_event_per_shift_and_role_whole() -> None:
    data = feed("--person", "de3", "--from", "2026-12-01", "--weeks", "6")
    expected = [
        ("On call (primary): Data Engineering weekly on-call", "2026-11-30T09:00:00+01:00", "2026-12-07T09:00:00+01:00"),
        ("On call (secondary): Data Engineering weekly on-call", "2026-12-07T09:00:00+01:00", "2026-12-14T09:00:00+01:00"),
        ("On call (secondary): Data Engineering weekly on-call", "2026-12-14T09:00:00+01:00", "2026-12-21T09:00:00+01:00"),
        ("On call (primary): Data Engineering weekly on-call", "2026-12-28T09:00:00+01:00", "2027-01-04T09:00:00+01:00"),
    ]
    seen = [
        (summary, start.astimezone(BERLIN).isoformat(), end.astimezone(BERLIN).isoformat())
        for summary, start, end in vobject_events(data)
    ]
    assert seen == expected
    calendar = icalendar.Calendar.from_ical(data)
    [new_year] = [e for e in calendar.walk("VEVENT") if e["DTSTART"].dt.date() == date(2026, 12, 28)]
    description = str(new_year["DESCRIPTION"])
    # the secondary's New Year holiday is described inside the shift, at its own times
    assert "Within this shift:\n- Thu 2026-12-31 22:00 to Fri 2027-01-01 22:00: secondary de4 away (holiday)" in description


def test_reduced_duty_is_described_inside_the_event() -> None:
    calendar = icalendar.Calendar.from_ical(feed("--team", "infra-data-eng", "--from", "2026-12-28T12:00+01:00", "--weeks", "1"))
    new_year = datetime(2027, 1, 1, 12, tzinfo=BERLIN)
    [event] = [e for e in calendar.walk("VEVENT") if e["DTSTART"].dt <= new_year < e["DTEND"].dt]
    assert str(event["SUMMARY"]).endswith("(reduced duty in part)")
    assert "2027-01-01 00:00 to Sat 2027-01-02 00:00: ie1 away (holiday): secondary first" in str(event["DESCRIPTION"])


def test_a_teams_feed_has_one_event_per_shift_and_pair() -> None:
    args = ("--team", "data-eng", "--from", "2026-12-14T09:00+01:00", "--weeks", "4")
    rows = json.loads(run("schedule", *args, "--format", "json", root=REPO_ROOT).stdout)
    runs = []
    for row in rows:
        key = (row["shift"]["index"], row["primary"]["id"], row["secondary"]["id"])
        if runs and runs[-1][0] == key:
            runs[-1][2] = row["end"]
        else:
            runs.append([key, row["start"], row["end"]])
    events = vobject_events(feed(*args))
    assert [(s.astimezone(BERLIN).isoformat(), e.astimezone(BERLIN).isoformat()) for _, s, e in events] == [
        (start, end) for _, start, end in runs
    ]
    assert len(events) < len(rows)  # the holidays inside shifts 50 and 51 split nothing


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "America/Chicago",
        "Europe/Dublin",  # winter is its "daylight saving" (negative DST)
        "Australia/Sydney",
        "America/Santiago",
        "Asia/Jerusalem",  # the Friday on or after 23 March
        "Africa/Cairo",
        "Africa/Casablanca",  # Ramadan: no yearly rule
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Pacific/Chatham",
    ],
)
def test_vtimezone_agrees_with_the_zone_database_in_both_parsers(zone: str) -> None:
    first, last = date(2026, 1, 1), date(2029, 1, 1)
    component = vtimezone(zone, first, last)
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + component.to_ical().decode() + "END:VCALENDAR\r\n"
    by_vobject = vobject.readOne(text).vtimezone.gettzinfo()
    by_icalendar = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0].to_tz()
    real = ZoneInfo(zone)
    instant = datetime.combine(first, datetime.min.time(), tzinfo=real).astimezone(UTC) + timedelta(minutes=30)
    end = datetime.combine(last, datetime.min.time(), tzinfo=real).astimezone(UTC)
    while instant < end:
        local = instant.astimezone(real)
        wall = local.replace(tzinfo=None)
        if wall.replace(tzinfo=real).astimezone(UTC) == instant:  # a wall time that names this instant alone
            assert wall.replace(tzinfo=by_vobject).utcoffset() == local.utcoffset(), (zone, local)
            assert wall.replace(tzinfo=by_icalendar).utcoffset() == local.utcoffset(), (zone, local)
        instant += timedelta(hours=3)
