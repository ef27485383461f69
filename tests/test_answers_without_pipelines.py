"""The answer commands read no pipelines (but `whoisoncall --pipeline`): their answers are
the same as from the org read whole, whether ownership.yaml is composed whole or a batch at
a time; a mistake in a pipeline stops only what needs pipelines; and an org cached without
its pipelines never serves a command that needs them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsctl.answers.oncall import answers, explain_lines, schedule_json, schedule_slots
from opsctl.cli.org_cache import read_slice
from opsctl.engine.fairness import fairness
from opsctl.engine.schedule.resolve import Engine
from opsctl.errors import RepoError
from opsctl.model import Org
from opsctl.repo import loader, yaml_reader
from opsctl.repo.loader import MemoryFiles, load
from opsctl.system.holidays import LibraryHolidays
from tests.support import CASES, REPO_ROOT, read_tree, run, write_tree

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
EXAMPLE = {
    f"{folder}/{path}": text
    for folder in ("rotations", "service_catalog", "runbooks")
    for path, text in read_tree(REPO_ROOT / folder).items()
    if path.endswith((".yaml", ".md"))
} | {"ownership.yaml": (REPO_ROOT / "ownership.yaml").read_text("utf-8")}
BASE = read_tree(CASES / "validate" / "_base")


def loaded(files: dict[str, str], monkeypatch: pytest.MonkeyPatch, *, batched: bool, pipelines: bool) -> Org:
    with monkeypatch.context() as patch:
        if batched:  # every list of more than two items a batch of two at a time
            patch.setattr(loader, "BATCHED_FROM", 0)
            patch.setattr(yaml_reader, "BATCH_ITEMS", 2)
        else:
            patch.setattr(loader, "BATCHED_FROM", 10**12)
        return load(MemoryFiles(dict[str, Any](files)), catalog=False, placeholders=False, pipelines=pipelines).require_ok()


def everything(org: Org, calendar: LibraryHolidays) -> list[Any]:
    """What whoisoncall, schedule, explain and fairness answer over two months."""
    engine = Engine(org, calendar)
    out: list[Any] = []
    instant = START
    while instant < START + timedelta(days=60):
        out.append(answers(org, engine, instant))
        out += [explain_lines(org, engine, instant, team) for team in org.teams if org.rotations_of(team)]
        instant += timedelta(hours=9, minutes=37)
    end = START + timedelta(weeks=9)
    out.append(schedule_json(org, schedule_slots(org, engine, START, end)))
    out.append(schedule_json(org, schedule_slots(org, engine, START, end, whole_shifts=True)))
    out.append(fairness(org, engine, START - timedelta(days=30), end, list(org.rotations)))
    return out


@pytest.mark.parametrize("batched", [False, True], ids=["whole", "batched"])
@pytest.mark.parametrize("files", [EXAMPLE, BASE], ids=["example", "base"])
def test_the_answers_are_the_same_without_pipelines(
    files: dict[str, str], batched: bool, monkeypatch: pytest.MonkeyPatch, calendar: LibraryHolidays
) -> None:
    whole = loaded(files, monkeypatch, batched=batched, pipelines=True)
    bare = loaded(files, monkeypatch, batched=batched, pipelines=False)
    assert whole.pipelines and not bare.pipelines
    assert (bare.people, bare.teams, bare.rotations, bare.time_off, bare.overrides, bare.settings) == (
        whole.people,
        whole.teams,
        whole.rotations,
        whole.time_off,
        whole.overrides,
        whole.settings,
    )
    assert everything(bare, calendar) == everything(whole, calendar)


def with_broken_pipeline(files: dict[str, str]) -> dict[str, str]:
    text = files["ownership.yaml"]
    assert "tier: investor-facing" in text
    return files | {"ownership.yaml": text.replace("tier: investor-facing", "tier: investor-facin", 1)}


@pytest.mark.parametrize("batched", [False, True], ids=["whole", "batched"])
def test_a_mistake_in_a_pipeline_stops_only_what_reads_pipelines(batched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    files = with_broken_pipeline(EXAMPLE)
    with pytest.raises(RepoError) as refused:
        loaded(files, monkeypatch, batched=batched, pipelines=True)
    assert [f.message for f in refused.value.findings] == ["unknown tier 'investor-facin' (did you mean 'investor-facing'?)"]
    assert (
        loaded(files, monkeypatch, batched=batched, pipelines=False).teams
        == loaded(EXAMPLE, monkeypatch, batched=batched, pipelines=False).teams
    )


def test_the_commands_with_a_mistake_in_a_pipeline(tmp_path: Path) -> None:
    good = write_tree(tmp_path / "good", EXAMPLE)
    root = write_tree(tmp_path / "repo", with_broken_pipeline(EXAMPLE))
    at = ("--at", "2026-12-17T20:00+01:00")
    for args in (
        ("whoisoncall", *at, "--format", "json"),
        ("schedule", "--from", "2026-12-01", "--weeks", "3", "--format", "json"),
        ("explain", "--team", "data-eng", *at),
    ):
        result = run(*args, root=root)
        assert (result.exit_code, result.stdout) == (0, run(*args, root=good).stdout), args
    refused = run("whoisoncall", "--pipeline", "unit_profit_experiments", *at, root=root)
    assert refused.exit_code == 1
    assert "unknown tier 'investor-facin'" in refused.stderr
    assert run("validate", root=root).exit_code == 1


def test_an_org_cached_without_pipelines_serves_only_what_needs_none(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", EXAMPLE)
    environ = dict(os.environ)
    at = ("--at", "2026-12-17T20:00+01:00")
    assert run("whoisoncall", "--team", "data-eng", *at, root=root).exit_code == 0
    assert read_slice(str(root), environ, team="data-eng", pipelines=False) is not None
    assert read_slice(str(root), environ, team="data-eng") is None
    assert read_slice(str(root), environ) is None
    assert read_slice(str(root), environ, pipeline="unit_profit_experiments") is None
    args = ("whoisoncall", "--pipeline", "unit_profit_experiments", *at, "--format", "json")
    fresh = run(*args, root=write_tree(tmp_path / "b", EXAMPLE))
    cached = run(*args, root=root)
    assert (cached.exit_code, cached.stdout) == (0, fresh.stdout)
    assert json.loads(cached.stdout)[0]["pipeline"] == "unit_profit_experiments"
    # written again with the pipelines: it now serves both
    assert read_slice(str(root), environ, pipeline="unit_profit_experiments") is not None
    assert read_slice(str(root), environ, team="data-eng", pipelines=False) is not None
