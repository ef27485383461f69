"""Invariants of the schedule engine on random orgs (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.swaps import search_order
from opsctl.model import Org
from opsctl.repo.loader import MemoryFiles, load
from opsctl.system.holidays import LibraryHolidays
from tests.engine_cases import case_files

ZONES = ["Europe/Berlin", "America/Chicago", "Asia/Kolkata", "UTC", "Australia/Lord_Howe", "Antarctica/Troll"]
SHIFTS = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}
CALENDAR = LibraryHolidays()
BASE_DAY = date(2026, 1, 1)


@st.composite
def orgs(draw: st.DrawFn, *, with_overrides: bool = True) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    people = [f"p{i}" for i in range(n)]
    zone = draw(st.sampled_from(ZONES))
    shift = draw(st.sampled_from(list(SHIFTS)))
    start = BASE_DAY + timedelta(days=draw(st.integers(0, 60)))
    rotation = {
        "members": draw(st.permutations(people)),
        "shift": shift,
        "handoff": f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
        "timezone": zone,
        "start": start.isoformat(),
        "depth": draw(st.sampled_from([1, 2])) if n >= 2 else 1,
        "public_holidays": False,
    }
    horizon = 120 if shift == "1w" else 20
    time_off = []
    for _ in range(draw(st.integers(0, 6))):
        first = start + timedelta(days=draw(st.integers(-3, horizon)))
        length = draw(st.integers(0, 10 if shift == "1w" else 2))
        time_off.append(
            {
                "person": draw(st.sampled_from(people)),
                "start": first.isoformat(),
                "end": (first + timedelta(days=length)).isoformat(),
            }
        )
    overrides = []
    if with_overrides:
        for _ in range(draw(st.integers(0, 3))):
            begin = datetime.combine(start, datetime.min.time()) + timedelta(hours=draw(st.integers(0, horizon * 24)))
            overrides.append(
                {
                    "rotation": "r",
                    "person": draw(st.sampled_from(people)),
                    "role": "primary",
                    "start": begin.isoformat(timespec="minutes"),
                    "end": (begin + timedelta(hours=draw(st.integers(1, 40)))).isoformat(timespec="minutes"),
                }
            )
    zones = {p: {"timezone": draw(st.sampled_from(ZONES))} for p in people}
    return {"people": zones, "rotation": rotation, "time_off": time_off, "overrides": overrides, "horizon": horizon}


def build(case: dict[str, Any]) -> Org:
    result = load(MemoryFiles(dict(case_files(case))))
    assert result.ok, [f.headline() for f in result.findings]
    return result.org


def window(org: Org, case: dict[str, Any], offset_hours: int, length_hours: int) -> tuple[datetime, datetime]:
    first = Engine(org, CALENDAR).grid("r").boundary(0)
    start = first + timedelta(hours=offset_hours)
    return start, start + timedelta(hours=length_hours)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(orgs(), st.integers(-48, 400), st.integers(1, 900))
def test_slots_tile_the_window(case: dict[str, Any], offset: int, length: int) -> None:
    org = build(case)
    engine = Engine(org, CALENDAR)
    start, end = window(org, case, offset, length)
    slots = engine.slots("r", start, end)
    first = max(start, engine.grid("r").boundary(0))
    if end <= first:
        assert slots == []
        return
    assert slots[0].start == first
    assert slots[-1].end == end
    for before, after in pairwise(slots):
        assert before.end == after.start
        assert before.start < before.end


@SETTINGS
@given(orgs(), st.integers(0, 300), st.integers(1, 600), st.integers(0, 300), st.integers(1, 600))
def test_answers_do_not_depend_on_the_window(case: dict[str, Any], o1: int, l1: int, o2: int, l2: int) -> None:
    org = build(case)
    a_start, a_end = window(org, case, o1, l1)
    b_start, b_end = window(org, case, o2, l2)
    lo, hi = max(a_start, b_start), min(a_end, b_end)
    assume(lo < hi)
    a = Engine(org, CALENDAR).slots("r", a_start, a_end)
    b = Engine(org, CALENDAR).slots("r", b_start, b_end)
    step = max((hi - lo) / 17, timedelta(minutes=1))
    t = lo
    while t < hi:
        sa = next(s for s in a if s.start <= t < s.end)
        sb = next(s for s in b if s.start <= t < s.end)
        assert (sa.primary, sa.secondary, sa.shift, sa.reduced, sa.trail) == (
            sb.primary,
            sb.secondary,
            sb.shift,
            sb.reduced,
            sb.trail,
        )
        t += step


@SETTINGS
@given(orgs())
def test_same_input_same_schedule(case: dict[str, Any]) -> None:
    start, end = window(build(case), case, 0, 24 * 30)
    first = Engine(build(case), CALENDAR).slots("r", start, end)
    second = Engine(build(case), CALENDAR).slots("r", start, end)
    assert first == second


def _reference_primaries(org: Org, engine: Engine, count: int) -> list[str]:
    """The holiday swap rule of docs/schedule.md ("Holiday swaps") read literally, with no incremental state."""
    rotation = org.rotations["r"]
    grid = engine.grid("r")
    n = len(rotation.members)
    primary = [rotation.members[k % n] for k in range(count + n)]
    swapped: set[int] = set()

    def free(person: str, k: int) -> bool:
        return engine.availability.available(person, grid.boundary(k), grid.boundary(k + 1), holidays=rotation.public_holidays)

    for k in range(count + n):
        if k in swapped or free(primary[k], k):
            continue
        for j in search_order(k, n, 0, count + n):
            if j not in swapped and primary[j] != primary[k] and free(primary[j], k) and free(primary[k], j):
                primary[k], primary[j] = primary[j], primary[k]
                swapped.update((k, j))
                break
    return primary[:count]


@SETTINGS
@given(orgs(with_overrides=False))
def test_swaps_follow_the_spec_and_conserve_shift_counts(case: dict[str, Any]) -> None:
    org = build(case)
    engine = Engine(org, CALENDAR)
    n = len(org.rotations["r"].members)
    cycles = 8
    count = n * cycles
    expected = _reference_primaries(org, engine, count)
    shifts = [engine.shift("r", k) for k in range(count)]
    assert [s.primary for s in shifts] == expected
    # Over whole cycles whose swaps stay inside, everybody keeps their number of shifts.
    inside = all(s.swapped_with is None or s.swapped_with < count for s in shifts)
    if inside:
        for person in org.rotations["r"].members:
            assert sum(s.primary == person for s in shifts) == cycles


@SETTINGS
@given(orgs(with_overrides=False))
def test_nobody_is_primary_on_time_off_when_a_legal_swap_existed(case: dict[str, Any]) -> None:
    org = build(case)
    engine = Engine(org, CALENDAR)
    rotation = org.rotations["r"]
    grid = engine.grid("r")
    n = len(rotation.members)
    for k in range(n * 6):
        shift = engine.shift("r", k)
        if engine.availability.available(shift.primary, shift.start, shift.end):
            continue
        assert shift.swapped_with is None and shift.no_swap
        for j in search_order(k, n, 0, None):
            other = engine.shift("r", j)
            legal = (
                other.swapped_with is None
                and other.primary != shift.primary
                and engine.availability.available(other.primary, shift.start, shift.end)
                and engine.availability.available(shift.primary, grid.boundary(j), grid.boundary(j + 1))
            )
            assert not legal, (k, j)


@SETTINGS
@given(orgs())
def test_overrides_change_only_their_interval(case: dict[str, Any]) -> None:
    with_overrides = build(case)
    without = build({**case, "overrides": []})
    start, end = window(with_overrides, case, 0, case["horizon"] * 24 + 48)
    a = Engine(with_overrides, CALENDAR).slots("r", start, end)
    b = Engine(without, CALENDAR).slots("r", start, end)
    spans = [(datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"])) for o in case["overrides"]]
    zone = with_overrides.rotations["r"].timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    spans_utc = [(s.replace(tzinfo=tz).astimezone(UTC), e.replace(tzinfo=tz).astimezone(UTC)) for s, e in spans]
    for slot in a:
        inside = any(s < slot.end and slot.start < e for s, e in spans_utc)
        if inside:
            continue
        mid = slot.start + (slot.end - slot.start) / 2
        other = next(s for s in b if s.start <= mid < s.end)
        assert (slot.primary, slot.secondary) == (other.primary, other.secondary)
