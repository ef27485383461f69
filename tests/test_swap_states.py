"""An engine that goes on from the swaps another engine of the same org resolved answers as
one that starts afresh, whatever windows either was asked about; the CLI keeps them only
for the inputs they were resolved from."""

from __future__ import annotations

import json
import os
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.answers.oncall import answers, schedule_json, schedule_slots
from opsctl.cli.org_cache import read_swaps
from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.system.holidays import LibraryHolidays
from tests.support import REPO_ROOT, copy_example, run

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> Org:
    return load_working_tree(REPO_ROOT).require_ok()


@pytest.mark.parametrize("weeks_first", [2, 20, 60])
def test_going_on_from_resolved_swaps_answers_the_same(org: Org, calendar: LibraryHolidays, weeks_first: int) -> None:
    first = Engine(org, calendar)
    schedule_slots(org, first, START, START + timedelta(weeks=weeks_first))
    states = pickle.loads(pickle.dumps(first.swap_states()))  # as kept in the cache file
    assert states and all(state.resolved >= 0 for state in states.values())
    seeded, fresh = Engine(org, calendar, swaps=states), Engine(org, calendar)
    for start, weeks in ((START - timedelta(weeks=30), 10), (START, 80), (START + timedelta(weeks=70), 4)):
        end = start + timedelta(weeks=weeks)
        assert schedule_json(org, schedule_slots(org, seeded, start, end)) == schedule_json(
            org, schedule_slots(org, fresh, start, end)
        )
    instant = START - timedelta(days=100)
    while instant < START + timedelta(days=500):
        assert answers(org, seeded, instant) == answers(org, fresh, instant)
        instant += timedelta(days=3, hours=7)


def test_the_cli_keeps_swaps_only_for_the_inputs_they_were_resolved_from(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    environ = dict(os.environ)
    args = ("schedule", "--from", "2026-12-01", "--weeks", "30", "--format", "json")
    first = run(*args, root=root)
    assert first.exit_code == 0
    _, kept = read_swaps(str(root), environ, ["data-eng-weekly", "platform-oncall"])
    assert kept and all(state.resolved > 0 for state in kept.values())
    assert run(*args, root=root).stdout == first.stdout
    # an edit: the swaps kept are of the old inputs and are not used
    ownership = root / "ownership.yaml"
    ownership.write_text(ownership.read_text("utf-8") + "# edited\n", encoding="utf-8")
    assert read_swaps(str(root), environ, ["data-eng-weekly"])[1] == {}
    again = run(*args, root=root)
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert read_swaps(str(root), environ, ["data-eng-weekly"])[1]
