"""One team's slice of the org: the same answers as the whole org, never stale, never for a
broken repository, and never mistaken for the whole org."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.answers.oncall import answers, explain_lines, schedule_slots
from opsctl.cli.org_cache import cache_file, read_slice, write_slices
from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org, team_slices
from opsctl.repo.loader import load_working_tree
from opsctl.system.holidays import LibraryHolidays
from tests.support import CASES, REPO_ROOT, read_tree, run, write_tree

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> Org:
    return load_working_tree(REPO_ROOT).require_ok()


def test_every_slice_answers_as_the_whole_org(org: Org, calendar: LibraryHolidays) -> None:
    whole = Engine(org, calendar)
    slices = team_slices(org)
    assert set(slices) == set(org.teams)
    for team, part in slices.items():
        engine = Engine(part, calendar)
        if not org.rotations_of(team):
            continue
        instant = START
        while instant < START + timedelta(days=60):
            assert answers(part, engine, instant, team=team) == answers(org, whole, instant, team=team), (team, instant)
            assert explain_lines(part, engine, instant, team) == explain_lines(org, whole, instant, team)
            instant += timedelta(hours=7, minutes=13)
        end = START + timedelta(weeks=12)
        assert schedule_slots(part, engine, START, end, team=team) == schedule_slots(org, whole, START, end, team=team)
        for pipeline in part.pipelines:
            assert answers(part, engine, START, pipeline=pipeline) == answers(org, whole, START, pipeline=pipeline)


def test_a_slice_holds_override_people_and_their_time_off(org: Org) -> None:
    overridden = {o.rotation: o for o in org.overrides}
    assert overridden, "the example org has overrides"
    for rotation_id, override in overridden.items():
        part = team_slices(org)[org.rotations[rotation_id].team]
        assert override.person in part.people
        assert [e for e in org.time_off if e.person == override.person] == [
            e for e in part.time_off if e.person == override.person
        ]
        assert [o for o in org.overrides if o.rotation == rotation_id] == [o for o in part.overrides if o.rotation == rotation_id]


def copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in ("ownership.yaml", "rotations", "service_catalog", "runbooks"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    return root


def test_the_cache_answers_only_while_no_input_changed(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    environ = dict(os.environ)
    assert read_slice(str(root), environ, team="data-eng") is None
    args = ["whoisoncall", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", "--format", "json"]
    first = run(*args, root=root)
    assert first.exit_code == 0
    assert os.path.exists(cache_file(str(root), environ))
    assert read_slice(str(root), environ, team="data-eng", pipelines=False) is not None
    assert run(*args, root=root).stdout == first.stdout

    # time off for the primary of that instant, written after the cache: the answer must see it
    primary = json.loads(first.stdout)[0]["primary"]["id"]
    time_off = root / "rotations" / "time_off.yaml"
    time_off.write_text(
        time_off.read_text("utf-8") + f"  - {{person: {primary}, start: 2026-12-17, end: 2026-12-18, reason: Sick}}\n",
        encoding="utf-8",
    )
    assert read_slice(str(root), environ, team="data-eng") is None
    after = json.loads(run(*args, root=root).stdout)[0]
    assert after["primary"]["available"] is False or after["primary"]["id"] != primary
    assert any("Sick" in reason for reason in after["reasons"])


def test_a_slice_is_never_taken_for_the_whole_org(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    team = run("whoisoncall", "--team", "data-eng", root=root)
    assert team.exit_code == 0
    everyone = run("whoisoncall", "--format", "json", root=root)
    assert {row["team"] for row in json.loads(everyone.stdout)} == {
        r.team for r in load_working_tree(root).org.rotations.values()
    }


def test_unknown_names_still_get_their_did_you_mean(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    run("whoisoncall", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", root=root)
    result = run("whoisoncall", "--team", "data-engg", "--at", "2026-12-17T20:00+01:00", root=root)
    assert (result.exit_code, result.stderr) == (2, "opsctl: unknown team 'data-engg' (did you mean 'data-eng'?)\n")
    result = run("whoisoncall", "--pipeline", "aggregate_profit", "--at", "2026-12-17T20:00+01:00", root=root)
    assert result.exit_code == 2
    assert result.stderr.startswith("opsctl: unknown pipeline 'aggregate_profit'")


def test_a_broken_repository_is_not_cached_and_still_refused(tmp_path: Path) -> None:
    files = read_tree(CASES / "validate" / "_base")
    files["rotations/core.yaml"] = files["rotations/core.yaml"].replace("[ana, ben, cho, dev]", "[ana, bem, cho, dev]")
    root = write_tree(tmp_path / "repo", files)
    for _ in range(2):
        result = run("whoisoncall", "--team", "core", root=root)
        assert result.exit_code == 1
        assert result.stderr.splitlines()[0] == "rotations/core.yaml:3:16: error: unknown person 'bem' (did you mean 'ben'?)"
    assert not os.path.exists(cache_file(str(root), dict(os.environ)))


def test_a_damaged_cache_file_is_ignored(tmp_path: Path, org: Org) -> None:
    root = copy_repo(tmp_path)
    environ = dict(os.environ)
    write_slices(str(root), environ, load_working_tree(root).require_ok())
    Path(cache_file(str(root), environ)).write_bytes(b"\x80\x05not a pickle")
    assert read_slice(str(root), environ, team="data-eng") is None
    assert run("whoisoncall", "--team", "data-eng", root=root).exit_code == 0


def test_slices_are_added_to_an_org_cached_without_them(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    environ = dict(os.environ)
    assert run("whoisoncall", "--at", "2026-12-17T20:00+01:00", "--format", "json", root=root).exit_code == 0
    assert read_slice(str(root), environ, pipelines=False) is not None  # the whole org
    assert read_slice(str(root), environ, team="data-eng") is None  # no slices yet: they cost as much again
    args = ["whoisoncall", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", "--format", "json"]
    first = run(*args, root=root)
    assert read_slice(str(root), environ, team="data-eng", pipelines=False) is not None
    assert run(*args, root=root).stdout == first.stdout
