"""`opsctl diff` against real git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from opsctl.engine.changes import diff_orgs
from opsctl.engine.schedule.resolve import Engine
from opsctl.repo.loader import MemoryFiles, load
from opsctl.system.holidays import LibraryHolidays
from tests.engine_cases import case_files
from tests.support import REPO_ROOT, run
from tests.test_engine_properties import orgs

FROM = "2026-11-23T09:00+01:00"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def example_repo(root: Path, *, subfolder: str = "") -> Path:
    ops = root / subfolder if subfolder else root
    ops.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "ownership.yaml", ops)
    for folder in ("rotations", "service_catalog", "runbooks"):
        shutil.copytree(REPO_ROOT / folder, ops / folder)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.email=ops@example.com", "-c", "user.name=ops", "commit", "-qm", "base")
    return ops


def add_time_off(ops: Path, text: str) -> None:
    path = ops / "rotations" / "time_off.yaml"
    path.write_text(path.read_text("utf-8") + text, encoding="utf-8")


def test_time_off_moves_shifts_and_names_people(tmp_path: Path) -> None:
    ops = example_repo(tmp_path)
    add_time_off(ops, "  - person: de3\n    start: 2026-12-01\n    end: 2026-12-04\n    reason: Training\n")
    result = run("diff", "--from", FROM, root=ops)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Ownership:"
    assert lines[1] == "  time off de3 2026-12-01 to 2026-12-04 (Training): added"
    assert lines[2] == "Schedule, 2026-11-23 to 2027-01-18:"
    moved = lines[3:]
    assert moved, "the training must move de3's primary shift"
    assert any("data-eng-weekly primary" in line and "Priya Raghunathan (de3) →" in line for line in moved)
    assert any("data-eng-weekly primary" in line and "→ Priya Raghunathan (de3)" in line for line in moved)
    as_json = json.loads(run("diff", "--from", FROM, "--format", "json", root=ops).stdout)
    assert as_json["base"] == git(tmp_path, "rev-parse", "--short", "HEAD")
    assert {c["role"] for c in as_json["shifts"]} >= {"primary"}
    assert all(c["before"] != c["after"] for c in as_json["shifts"])


def test_owner_change_in_markdown(tmp_path: Path) -> None:
    ops = example_repo(tmp_path)
    text = (ops / "ownership.yaml").read_text("utf-8")
    start = text.index("id: aggregate_profit_investors")
    at = text.index("primary: de2", start)
    (ops / "ownership.yaml").write_text(text[:at] + "primary: de3" + text[at + len("primary: de2") :], encoding="utf-8")
    result = run("diff", "--from", FROM, "--format", "markdown", "--exit-code", root=ops)
    assert result.exit_code == 1
    assert "| changed | pipeline `aggregate_profit_investors` | `primary`: de2 → **de3** |" in result.stdout
    assert "No shift changes from 2026-11-23 to 2027-01-18." in result.stdout


def test_no_change_is_empty_and_exit_code_zero(tmp_path: Path) -> None:
    ops = example_repo(tmp_path)
    result = run("diff", "--from", FROM, "--exit-code", root=ops)
    assert (result.exit_code, result.stdout) == (0, "no changes to ownership or to the schedule\n")


def test_ops_repository_in_a_subfolder_and_explicit_base(tmp_path: Path) -> None:
    ops = example_repo(tmp_path, subfolder="ops")
    first = git(tmp_path, "rev-parse", "HEAD")
    add_time_off(ops, "  - person: de3\n    start: 2026-12-01\n    end: 2026-12-04\n")
    git(tmp_path, "-c", "user.email=ops@example.com", "-c", "user.name=ops", "commit", "-qam", "time off")
    assert run("diff", "--from", FROM, root=ops).stdout == "no changes to ownership or to the schedule\n"  # HEAD == working tree
    result = run("diff", "--base", first, "--from", FROM, root=ops)
    assert "time off de3 2026-12-01 to 2026-12-04: added" in result.stdout


def test_first_commit_of_a_repository_is_all_added(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "README").write_text("x")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.email=ops@example.com", "-c", "user.name=ops", "commit", "-qm", "empty")
    shutil.copy(REPO_ROOT / "ownership.yaml", tmp_path)
    shutil.copytree(REPO_ROOT / "rotations", tmp_path / "rotations")
    result = run("diff", "--from", FROM, "--format", "json", root=tmp_path)
    assert result.exit_code == 0
    assert "has errors" in result.stderr
    added = {(c["kind"], c["action"]) for c in json.loads(result.stdout)["ownership"]}
    assert ("pipeline", "added") in added and ("rotation", "added") in added


def test_not_a_git_repository(tmp_path: Path) -> None:
    shutil.copy(REPO_ROOT / "ownership.yaml", tmp_path)
    shutil.copytree(REPO_ROOT / "rotations", tmp_path / "rotations")
    result = run("diff", root=tmp_path)
    assert result.exit_code == 1
    assert "is not inside a git repository" in result.stderr


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs())
def test_diff_of_an_org_with_itself_is_empty(case: dict[str, object]) -> None:
    from datetime import timedelta

    calendar = LibraryHolidays()
    first = load(MemoryFiles(dict(case_files(case)))).org
    second = load(MemoryFiles(dict(case_files(case)))).org
    start = Engine(first, calendar).grid("r").boundary(0) - timedelta(days=3)
    diff = diff_orgs(first, second, Engine(first, calendar), Engine(second, calendar), start, start + timedelta(weeks=20))
    assert diff.empty


def test_an_unknown_base_is_a_usage_error(tmp_path: Path) -> None:
    ops = example_repo(tmp_path)
    result = run("diff", "--base", "nope", root=ops)
    assert result.exit_code == 2
    assert result.stderr == "opsctl: --base: unknown revision 'nope'\n"
    typo = run("diff", "--base", "mian", root=ops)
    assert typo.exit_code == 2
    assert typo.stderr == "opsctl: --base: unknown revision 'mian' (did you mean 'main'?)\n"
    assert run("diff", "--base", "main", "--from", FROM, root=ops).exit_code == 0
