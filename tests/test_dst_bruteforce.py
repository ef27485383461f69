"""Step through DST transitions minute by minute and check every answer (docs/schedule.md, "Shifts")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from opsctl.engine.schedule.resolve import Engine
from opsctl.repo.loader import MemoryFiles, load
from opsctl.system.holidays import LibraryHolidays
from tests.engine_cases import case_files

TRANSITIONS = [
    ("Europe/Berlin", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    ("America/Chicago", datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
    ("America/Chicago", datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, 0, tzinfo=UTC)),
    ("Antarctica/Troll", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # a 2-hour jump: boundaries go back
]
SHIFTS = [("1h", "00:30"), ("1h", "02:30"), ("1d", "02:30"), ("12h", "01:30"), ("1w", "02:30")]


def expected_boundaries(zone: ZoneInfo, start: date, handoff: time, length: timedelta, count: int) -> list[datetime]:
    """Wall time start + k·L read with fold=0, made non-decreasing: the spec, computed plainly."""
    out: list[datetime] = []
    for k in range(count):
        wall = datetime.combine(start, handoff) + k * length
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        out.append(max(instant, out[-1]) if out else instant)
    return out


@pytest.mark.parametrize(("zone_name", "transition"), TRANSITIONS, ids=[f"{z}-{t:%m-%d}" for z, t in TRANSITIONS])
@pytest.mark.parametrize(("shift", "handoff"), SHIFTS, ids=[f"{s}@{h}" for s, h in SHIFTS])
def test_every_minute_around_a_transition(
    zone_name: str, transition: datetime, shift: str, handoff: str, calendar: LibraryHolidays
) -> None:
    zone = ZoneInfo(zone_name)
    start = (transition - timedelta(days=15)).astimezone(zone).date()
    case = {
        "people": ["a", "b", "c"],
        "rotation": {
            "members": ["a", "b", "c"],
            "shift": shift,
            "handoff": handoff,
            "timezone": zone_name,
            "start": start.isoformat(),
        },
    }
    result = load(MemoryFiles(dict(case_files(case))))
    assert result.ok
    engine = Engine(result.org, calendar)
    length = result.org.rotations["r"].shift
    count = int(timedelta(days=17) / length) + 3
    bounds = expected_boundaries(zone, start, time.fromisoformat(handoff), length, count)
    slots = engine.slots("r", transition - timedelta(hours=6), transition + timedelta(hours=6))
    for before, after in pairwise(slots):
        assert before.end == after.start and before.start < before.end
    t = transition - timedelta(hours=6)
    last_index = -1
    while t < transition + timedelta(hours=6):
        slot = engine.at("r", t)
        assert slot is not None
        k = max(i for i, b in enumerate(bounds) if b <= t)
        assert slot.shift == k, t
        assert slot.primary == "abc"[k % 3], t
        assert slot.start == bounds[k] and slot.end == bounds[k + 1], t
        assert slot.shift >= last_index
        last_index = slot.shift
        t += timedelta(minutes=1)
