"""Random YAML into every file of a repository: validate must answer with findings, never raise."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl import model
from opsctl.repo.loader import MemoryFiles, load
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


def mutate(data: st.DataObject) -> dict[str, str]:
    files = dict(BASE)
    target = data.draw(st.sampled_from(FILES))
    kind = data.draw(st.sampled_from(["structured", "raw", "patched"]))
    if kind == "structured":
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
    for path, text in BASE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    (root / "rotations" / "core.yaml").write_bytes(b"id: core\n\xff\xfe\x00binary")
    result = run("validate", root=root)
    assert result.exit_code == 1
    assert "rotations/core.yaml:2:1: error: not UTF-8 text" in result.stdout
