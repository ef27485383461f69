"""Compiled whoisoncall answers: equal to the engine's, invalidated by any input change,
and never used for what they cannot answer."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.answers.oncall import answers, compiled_rotations
from opsctl.cli.answer_cache import WINDOW_DAYS, cache_file, compile_answers, lookup, plain_table, try_answer, write_cache
from opsctl.engine.schedule.resolve import Engine
from opsctl.repo.loader import load_working_tree
from opsctl.system.holidays import LibraryHolidays
from tests.support import REPO_ROOT

NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def compiled(calendar_module: LibraryHolidays) -> tuple[dict[str, object], Engine]:
    org = load_working_tree(REPO_ROOT).require_ok()
    engine = Engine(org, calendar_module)
    return compile_answers(str(REPO_ROOT), compiled_rotations(org, engine, NOW, WINDOW_DAYS), NOW), engine


@pytest.fixture(scope="module")
def calendar_module() -> LibraryHolidays:
    return LibraryHolidays()


def test_compiled_answers_equal_the_engine_everywhere_in_the_window(compiled: tuple[dict[str, object], Engine]) -> None:
    data, engine = compiled
    org = engine.org
    instant = NOW
    while instant < NOW + timedelta(days=WINDOW_DAYS):
        for team in (None, "data-eng", "platform"):
            assert lookup(data, instant, team) == answers(org, engine, instant, team=team), instant
        instant += timedelta(hours=5, minutes=17)


def test_lookup_declines_outside_the_window_and_for_unknown_teams(compiled: tuple[dict[str, object], Engine]) -> None:
    data, _ = compiled
    assert lookup(data, NOW - timedelta(seconds=1), None) is None
    assert lookup(data, NOW + timedelta(days=WINDOW_DAYS), None) is None
    assert lookup(data, NOW, "no-such-team") is None


def test_plain_table_columns() -> None:
    rows = [
        {
            "team": "t",
            "rotation": "r",
            "primary": {"id": "a", "name": "Ada", "available": False},
            "secondary": None,
            "end": "2026-12-14T09:00:00+01:00",
            "reduced": True,
            "reasons": ["x"],
            "brief": ["a away (time-off): secondary first"],
        },
    ]
    assert plain_table(rows) == (
        "TEAM  ROTATION  PRIMARY         SECONDARY  UNTIL             NOTES\n"
        "t     r         Ada (a) (away)  -          2026-12-14 09:00  REDUCED: a away (time-off): secondary first\n"
    )


def copy_org(target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "ownership.yaml", target)
    shutil.copytree(REPO_ROOT / "rotations", target / "rotations")
    return target


def opsctl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsctl", *args], capture_output=True, text=True, env=env, check=False)


def without_at(text: str) -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if k != "at"} for row in json.loads(text)]


def test_second_run_is_answered_from_the_cache_and_edits_invalidate_it(tmp_path: Path) -> None:
    root = copy_org(tmp_path / "ops")
    env = os.environ | {"OPSCTL_CACHE_DIR": str(tmp_path / "cache"), "OPSCTL_ROOT": str(root)}
    full = opsctl("whoisoncall", "--format", "json", env=env)
    assert full.returncode == 0, full.stderr
    assert Path(cache_file(str(root), env)).is_file()
    # the fast path never imports click or yaml: prove the second answer came from it
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "opsctl", "whoisoncall", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in probe.stderr.splitlines() if "|" in line}
    assert "click" not in imported and "yaml" not in imported
    assert without_at(probe.stdout) == without_at(full.stdout)
    # plain text from the cache is the full path's, at the width $COLUMNS asks for
    narrow = env | {"COLUMNS": "80"}
    cached = opsctl("whoisoncall", "--format", "plain", env=narrow)
    assert cached.stdout == opsctl("whoisoncall", "--at", "now", "--format", "plain", env=narrow).stdout
    assert max(len(line) for line in cached.stdout.splitlines()) <= 80
    # an edit to a rotation changes the key: the full path answers again, with the edit
    rotation = root / "rotations" / "data-eng-weekly.yaml"
    rotation.write_text(
        rotation.read_text("utf-8").replace("name: Data Engineering weekly on-call", "name: DE weekly"), encoding="utf-8"
    )
    edited = opsctl("whoisoncall", "--format", "json", "--team", "data-eng", env=env)
    assert json.loads(edited.stdout)[0]["rotation_name"] == "DE weekly"


@pytest.mark.parametrize(
    "argv",
    [
        ["whoisoncall", "--at", "2026-12-24"],
        ["whoisoncall", "--pipeline", "aggregate_profit_investors"],
        ["whoisoncall", "--help"],
        ["whoisoncall", "--team"],
        ["schedule"],
        [],
    ],
)
def test_what_the_cache_cannot_answer_falls_through(argv: list[str], tmp_path: Path) -> None:
    assert try_answer(argv, {"OPSCTL_CACHE_DIR": str(tmp_path), "OPSCTL_ROOT": str(REPO_ROOT)}, io.StringIO()) is False


def test_a_stale_or_corrupt_cache_falls_through(tmp_path: Path, compiled: tuple[dict[str, object], Engine]) -> None:
    env = {"OPSCTL_CACHE_DIR": str(tmp_path), "OPSCTL_ROOT": str(REPO_ROOT)}
    data, _ = compiled
    stale = dict(data, key=["something else"])
    write_cache(str(REPO_ROOT), stale, env)
    assert try_answer(["whoisoncall"], env, io.StringIO()) is False
    Path(cache_file(str(REPO_ROOT), env)).write_text("{not json", encoding="utf-8")
    assert try_answer(["whoisoncall"], env, io.StringIO()) is False


def test_whoisoncall_never_imports_the_heavy_stacks(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from opsctl.cli.main import cli\n"
        f"cli.main(['--root', {str(REPO_ROOT)!r}, 'whoisoncall', '--at', 'now', '--format', 'json'], standalone_mode=False)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('jinja2', 'pagerduty', 'slack_sdk', 'starlette', 'uvicorn', 'pydantic', 'httpx2', 'holidays'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = os.environ | {"OPSCTL_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)  # warm the holiday cache
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert "HEAVY []" in done.stderr, done.stderr


def test_an_edit_within_the_clock_tick_is_seen(tmp_path: Path, calendar_module: LibraryHolidays) -> None:
    root = copy_org(tmp_path / "ops")
    env = {"OPSCTL_CACHE_DIR": str(tmp_path / "cache"), "OPSCTL_ROOT": str(root)}
    for rotation in (root / "rotations").iterdir():  # written an hour ago; ownership.yaml just now
        os.utime(rotation, ns=(rotation.stat().st_atime_ns, rotation.stat().st_mtime_ns - 3600 * 10**9))
    now = datetime.now(UTC)
    org = load_working_tree(root).require_ok()
    data = compile_answers(str(root), compiled_rotations(org, Engine(org, calendar_module), now, WINDOW_DAYS), now)
    # only the files written just now are checksummed: the fast path stays a few stat calls
    assert [os.path.basename(path) for path, _ in data["sums"]] == ["ownership.yaml"]  # type: ignore[attr-defined]
    write_cache(str(root), data, env)
    assert try_answer(["whoisoncall", "--format", "json"], env, io.StringIO()) is True
    # the same size and the same modification time, another team name: the key alone cannot tell
    ownership = root / "ownership.yaml"
    stat = ownership.stat()
    text = ownership.read_text("utf-8")
    assert "name: Data Engineering" in text
    ownership.write_text(text.replace("name: Data Engineering", "name: Data Engineerinh", 1), encoding="utf-8")
    os.utime(ownership, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ownership.stat().st_size == stat.st_size
    assert try_answer(["whoisoncall", "--format", "json"], env, io.StringIO()) is False
