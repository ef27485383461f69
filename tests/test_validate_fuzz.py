"""Random YAML into every file of a repository: validate must answer with findings, never raise."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl import model
from opsctl.repo.loader import DEFAULT_MAX_FILE_BYTES, MemoryFiles, load
from opsctl.repo.yaml_reader import MAX_ALIAS_EXPANSION
from opsctl.system.holidays import LibraryHolidays
from opsctl.validate import validate
from tests.support import CASES, read_tree, run

KEYS = sorted({f.name for cls in vars(model).values() if dataclasses.is_dataclass(cls) for f in dataclasses.fields(cls)})
BASE = read_tree(CASES / "validate" / "_base")
FILES = [
    "ownership.yaml",
    "rotations/core.yaml",
    "rotations/time_off.yaml",
    "rotations/overrides.yaml",
    "service_catalog/core.yaml",
]
CALENDAR = LibraryHolidays()
NOW = __import__("datetime").datetime(2026, 6, 1, tzinfo=__import__("datetime").UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "ana",
            "ben",
            "core",
            "core-weekly",
            "1w",
            "30m",
            "09:00",
            "Europe/Berlin",
            "2026-06-01",
            "2026-06-01T09:00",
            "NO",
            "[FILL IN]",
            "TODO",
        ]
    ),
    st.dates().map(str),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=25,
)


def alias_bomb(levels: int, width: int, key: str = "transformations") -> str:
    """A pipeline whose ``key`` nests ``levels`` of aliases, each repeating the last ``width`` times."""
    lines = ["  - id: bomb", "    name: Bomb", "    team: core", "    primary: ana", "    secondary: ben"]
    lines += ["    tier: experiment", "    freshness_sla: 1h", f"    {key}:", f"      - &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"      - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def mutate(data: st.DataObject) -> dict[str, str]:
    files = dict(BASE)
    target = data.draw(st.sampled_from(FILES))
    kind = data.draw(st.sampled_from(["structured", "raw", "patched", "aliases", "huge"]))
    if kind == "aliases":
        levels, width = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 10))
        files["ownership.yaml"] += alias_bomb(levels, width, data.draw(st.sampled_from(["transformations", "alerting", "x"])))
    elif kind == "huge":
        files[target] = "# padding\n" * (DEFAULT_MAX_FILE_BYTES // 10 + data.draw(st.integers(1, 1000)))
    elif kind == "structured":
        files[target] = yaml.safe_dump(data.draw(documents), allow_unicode=True)
    elif kind == "raw":
        files[target] = data.draw(st.text(max_size=200))
    else:
        lines = files[target].splitlines()
        index = data.draw(st.integers(0, len(lines) - 1))
        lines[index] = (
            data.draw(st.sampled_from(["", "  - x", "foo: [", "\t", "a: &x b", "*x", "- - -", "key: {a: 1, a: 2}"]))
            + lines[index]
        )
        files[target] = "\n".join(lines)
    return files


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_documents_give_findings_not_exceptions(data: st.DataObject) -> None:
    files = mutate(data)
    result = load(MemoryFiles(dict[str, Any](files)))
    findings = validate(result, now=NOW, holidays=CALENDAR)
    for finding in findings:
        assert finding.level in ("error", "warning")
        assert "\n" not in finding.message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_documents_through_the_cli(tmp_path_factory: Any, data: st.DataObject) -> None:
    files = mutate(data)
    root = Path(tmp_path_factory.mktemp("fuzz"))
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    for args in (["validate", "--at", "2026-06-01T00:00:00Z"], ["whoisoncall", "--at", "2026-06-01T00:00:00Z"]):
        result = run(*args, root=root)
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.output
        assert "internal error" not in result.output


def test_binary_file(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, BASE)
    (root / "rotations" / "core.yaml").write_bytes(b"id: core\n\xff\xfe\x00binary")
    result = run("validate", root=root)
    assert result.exit_code == 1
    assert "rotations/core.yaml:2:1: error: not UTF-8 text" in result.stdout


def test_an_alias_bomb_is_refused_at_its_anchor(tmp_path: Path) -> None:
    """Ten nested levels of ten aliases would be 10**10 values: refused at once, pointing at the anchor."""
    root = tmp_path / "repo"
    files = dict(BASE)
    files["ownership.yaml"] += alias_bomb(10, 10)
    write_files(root, files)
    # In a child process with a time limit, so that a regression fails instead of hanging the suite.
    done = subprocess.run(
        [sys.executable, "-m", "opsctl", "--root", str(root), "validate", "--at", "2026-06-01T00:00:00Z"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    line = BASE["ownership.yaml"].count("\n") + 18
    assert done.stdout.splitlines()[0] == (
        f"ownership.yaml:{line}:9: error: aliases expand this file to 123,456,790,242 values from the 142 written"
        f" (at most {MAX_ALIAS_EXPANSION:,} more are read): the anchor &l9 here is repeated through nested aliases"
    )
    assert "notes of unknown pipeline" not in done.stdout


def test_aliases_within_the_limit_are_read() -> None:
    files = dict(BASE)
    files["ownership.yaml"] = (
        files["ownership.yaml"]
        .replace(
            "    country: DE\n",
            "    country: DE\n    working_hours: &hours {days: [mon, tue], start: '08:00', end: '16:00'}\n",
            1,
        )
        .replace("    country: US\n", "    country: US\n    working_hours: *hours\n", 1)
    )
    result = load(MemoryFiles(dict[str, Any](files)))
    assert result.ok, result.findings
    ana, ben = result.org.people["ana"], result.org.people["ben"]
    assert ana.working_hours == ben.working_hours
    assert ben.working_hours is not None and ben.working_hours.days == ("mon", "tue")


def test_a_recursive_alias_is_an_error() -> None:
    files = dict(BASE)
    files["rotations/core.yaml"] += "roster_changes: &loop [*loop]\n"
    findings = load(MemoryFiles(dict[str, Any](files))).findings
    assert [str(f.location) + ": " + f.message for f in findings if f.is_error] == [
        "rotations/core.yaml:10:17: invalid YAML: an alias refers to a value that contains it (a recursive anchor)"
    ]


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, BASE)
    entry = "  - {person: ana, start: 2026-07-01, end: 2026-07-02, reason: Vacation}\n"
    (root / "rotations" / "time_off.yaml").write_text("time_off:\n" + entry * (DEFAULT_MAX_FILE_BYTES // len(entry) + 1))
    result = run("validate", "--at", "2026-06-01T00:00:00Z", root=root)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "rotations/time_off.yaml:1:1: error: rotations/time_off.yaml is 4.0 MB, more than the 4.0 MB opsctl reads in one file"
    )


def write_files(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
