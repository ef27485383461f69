"""The pure parts of sync: markers, overrides from timelines, restrictions, deterministic plans."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from opsctl.engine.intervals import complement, merge_intervals
from opsctl.model import WorkingHours
from opsctl.sync import pagerduty
from opsctl.sync.marker import human_text, override_fingerprint, read_marker, with_marker
from opsctl.sync.pagerduty_actual import PagerDutyActual, RemoteUser
from opsctl.sync.pagerduty_desired import desired_pagerduty
from opsctl.sync.pagerduty_overrides import Assignment, OverrideSpec, Restriction, restrictions_for, to_overrides
from tests.sync.support import EXAMPLE, NOW, desired_for, engine

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_marker_round_trip() -> None:
    text = with_marker("Primary on-call.", "schedule:r:primary", overrides="ab,cd")
    assert text == "Primary on-call.\n\nopsctl:managed key=schedule:r:primary overrides=ab,cd"
    marker = read_marker(text)
    assert marker is not None and marker.key == "schedule:r:primary" and marker.values("overrides") == {"ab", "cd"}
    assert human_text(text) == "Primary on-call."
    assert read_marker("made by hand; mentions opsctl:managed in passing") is None
    assert override_fingerprint(T0, at(1), "PU1") == override_fingerprint(T0 + timedelta(microseconds=5), at(1), "PU1")


def test_overrides_are_the_runs_that_differ_from_the_layers_joined() -> None:
    assignments = [
        Assignment(at(0), at(24), "ana", "ana"),
        Assignment(at(24), at(48), "ben", "ana", "swap"),
        Assignment(at(48), at(60), "ben", "cho", "reduced"),  # same person right after: one override
        Assignment(at(60), at(72), "cho", "cho"),
        Assignment(at(80), at(90), "dev", "cho", "override"),
    ]
    assert to_overrides(reversed(assignments)) == [
        OverrideSpec(at(24), at(60), "ben", "swap"),
        OverrideSpec(at(80), at(90), "dev", "override"),
    ]


def test_working_hours_become_weekly_restrictions() -> None:
    assert restrictions_for(None) == ()
    hours = WorkingHours(("sun", "mon"), time(22, 0), time(6, 0))  # across midnight
    assert restrictions_for(hours) == (Restriction(1, time(22, 0), 8 * 3600), Restriction(7, time(22, 0), 8 * 3600))
    assert Restriction(1, time(9, 0), 9 * 3600 + 1800).text() == "Mon 09:00 for 9h30m"


def test_intervals_merge_and_their_complement_is_the_free_time() -> None:
    busy = [(at(5), at(6)), (at(1), at(3)), (at(2), at(4)), (at(4), at(4.5))]
    assert merge_intervals(busy) == [(at(1), at(4.5)), (at(5), at(6))]
    assert complement(busy, at(0)) == [(at(0), at(1)), (at(4.5), at(5)), (at(6), None)]
    # busy time before the start only moves the start
    assert complement([(at(-2), at(2))], at(0)) == [(at(2), None)]


def test_the_same_input_gives_the_same_plan() -> None:
    desired = desired_for(EXAMPLE, NOW)
    again = desired_pagerduty(EXAMPLE, engine(EXAMPLE), NOW)
    assert again == desired
    users = tuple(RemoteUser(f"PU{i}", p.name, p.email) for i, p in enumerate(EXAMPLE.people.values()))
    empty = PagerDutyActual(users, (), (), ())
    first, second = pagerduty.diff(desired, empty), pagerduty.diff(again, empty)
    assert first == second
    assert [c.key for c in first.changes] == [c.key for c in second.changes]
