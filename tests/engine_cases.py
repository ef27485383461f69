"""Build repositories for the engine's golden cases (tests/cases/schedule/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from opsctl.repo.loader import LoadResult, MemoryFiles, load

NAMES = {"a": "Ada", "b": "Bo", "c": "Cy", "d": "Di", "e": "Ed", "f": "Fay"}


def case_files(case: dict[str, Any]) -> dict[str, str]:
    """The files of a case's repository: one team ``t`` and one rotation ``r``."""
    people = case["people"]
    if isinstance(people, list):
        people = {pid: {} for pid in people}
    person_rows = []
    for pid, extra in people.items():
        row = {"id": pid, "name": NAMES.get(pid, pid.title()), "email": f"{pid}@example.com", "timezone": "Europe/Berlin"}
        row.update(extra or {})
        person_rows.append(row)
    team = {"id": "t", "name": "Team", "members": list(people)}
    if len(people) >= 3:
        team["lead"] = next(iter(people))
    rotation = {"id": "r", "team": "t", **case["rotation"]}
    files = {
        "ownership.yaml": yaml.safe_dump({"people": person_rows, "teams": [team]}, sort_keys=False),
        "rotations/r.yaml": yaml.safe_dump(rotation, sort_keys=False),
        "rotations/time_off.yaml": yaml.safe_dump({"time_off": case.get("time_off", [])}, sort_keys=False),
        "rotations/overrides.yaml": yaml.safe_dump({"overrides": case.get("overrides", [])}, sort_keys=False),
    }
    return files


def load_case(path: Path) -> tuple[dict[str, Any], LoadResult]:
    case = yaml.safe_load(path.read_text("utf-8"))
    result = load(MemoryFiles(dict(case_files(case))))
    return case, result
