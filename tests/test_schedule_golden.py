"""Golden cases for the engine: an org, instants, and who must be on call then (docs/schedule.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from opsctl.engine.schedule.resolve import Engine
from opsctl.system.holidays import LibraryHolidays
from tests.engine_cases import load_case
from tests.support import CASES

CASE_FILES = sorted((CASES / "schedule").glob("*.yaml"))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_schedule_case(path: Path, calendar: LibraryHolidays) -> None:
    case, result = load_case(path)
    assert result.ok, [f.headline() for f in result.findings]
    engine = Engine(result.org, calendar)
    for expected in case["expect"]:
        at = datetime.fromisoformat(expected["at"])
        slot = engine.at("r", at)
        label = f"{path.stem} at {expected['at']}"
        if expected["primary"] is None:
            assert slot is None, label
            continue
        assert slot is not None, label
        assert slot.primary == expected["primary"], label
        if "secondary" in expected:
            assert slot.secondary == expected["secondary"], label
        if "shift" in expected:
            assert slot.shift == expected["shift"], label
        if "reduced" in expected:
            assert slot.reduced == expected["reduced"], label
        if "primary_available" in expected:
            assert slot.primary_available == expected["primary_available"], label
        if "secondary_available" in expected:
            assert slot.secondary_available == expected["secondary_available"], label
        if "secondary_reduced" in expected:
            assert slot.secondary_reduced == expected["secondary_reduced"], label
        if "covered" in expected:
            assert slot.covered == expected["covered"], label
        if "layers" in expected:
            assert [step.layer for step in slot.trail] == expected["layers"], (label, slot.trail)
        if "start" in expected:
            assert slot.start == datetime.fromisoformat(expected["start"]), label
            assert slot.start.utcoffset() is not None
        if "end" in expected:
            assert slot.end == datetime.fromisoformat(expected["end"]), label
