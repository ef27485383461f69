"""The JSON Schemas: generated from the model, committed under schemas/, true to the files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from opsctl.model import FILE_KINDS
from opsctl.repo.schema import dumps, schema_filename, schema_for
from tests.support import REPO_ROOT, run

SCHEMAS = REPO_ROOT / "schemas"


def kind_of(path: Path) -> str:
    relative = path.relative_to(REPO_ROOT).as_posix()
    if relative == "ownership.yaml":
        return "ownership"
    if relative.startswith("service_catalog/"):
        return "service_catalog"
    if relative in ("rotations/time_off.yaml", "rotations/overrides.yaml"):
        return path.stem
    return "rotation"


EXAMPLE_FILES = [
    REPO_ROOT / "ownership.yaml",
    *sorted((REPO_ROOT / "rotations").glob("*.yaml")),
    *sorted((REPO_ROOT / "service_catalog").glob("*.yaml")),
]


@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_committed_schema_is_current(kind: str) -> None:
    committed = (SCHEMAS / schema_filename(kind)).read_text("utf-8")
    assert committed == dumps(schema_for(kind)), "run `opsctl schema --out schemas` and commit the result"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_example_files_match_their_schema_and_point_at_it(path: Path) -> None:
    kind = kind_of(path)
    text = path.read_text("utf-8")
    first = text.splitlines()[0]
    depth = "../" * (len(path.relative_to(REPO_ROOT).parts) - 1)
    assert first == f"# yaml-language-server: $schema={depth}schemas/{schema_filename(kind)}"
    schema = json.loads((SCHEMAS / schema_filename(kind)).read_text("utf-8"))
    document = json.loads(json.dumps(yaml.safe_load(text), default=str))
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


BROKEN = [
    ("rotation", {"id": "r", "team": "t", "members": ["a"], "timezone": "UTC", "start": "2026-01-05", "shfit": "1w"}),
    ("rotation", {"id": "r", "team": "t", "members": ["a"], "timezone": "UTC", "start": "2026-01-05", "shift": "1 week"}),
    ("rotation", {"id": "r", "team": "t", "members": ["a"], "timezone": "UTC", "start": "2026-01-05", "depth": 3}),
    ("rotation", {"id": "R!", "team": "t", "members": ["a"], "timezone": "UTC", "start": "2026-01-05"}),
    ("time_off", {"time_off": [{"person": "a", "start": "next week", "end": "2026-01-05"}]}),
    (
        "overrides",
        {"overrides": [{"rotation": "r", "person": "a", "start": "2026-01-05", "end": "2026-01-06", "role": "tertiary"}]},
    ),
    ("ownership", {"people": [{"id": "a", "name": "A", "email": "not-an-email", "timezone": "UTC"}], "teams": []}),
    *(
        ("ownership", {"people": [], "teams": [], "settings": {section: {key: pattern}}})
        for section, key, pattern in [
            ("slack", "usergroup_handle", "{team} On-Call"),  # Slack would refuse the handle
            ("slack", "usergroup_handle", "oncall"),  # every team's group the same handle
            ("slack", "usergroup_name", "{team_name} on-call {{x}}"),
            ("pagerduty", "service_name", "{pipeline_name} ({pipline})"),  # an unknown field
            ("pagerduty", "schedule_name", "{rotation_name}"),  # a rotation's two schedules the same name
            ("pagerduty", "team_service_name", "{team"),
        ]
    ),
]


@pytest.mark.parametrize(("kind", "document"), BROKEN)
def test_schema_and_validate_reject_the_same_documents(kind: str, document: dict[str, object], tmp_path: Path) -> None:
    schema = schema_for(kind)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
    # validate rejects it too, as an error in that file
    from tests.support import CASES, read_tree, write_tree

    files = read_tree(CASES / "validate" / "_base")
    target = {
        "ownership": "ownership.yaml",
        "rotation": "rotations/core.yaml",
        "time_off": "rotations/time_off.yaml",
        "overrides": "rotations/overrides.yaml",
    }[kind]
    files[target] = yaml.safe_dump(document)
    root = write_tree(tmp_path / "repo", files)
    result = run("validate", "--format", "json", "--at", "2026-06-01T00:00:00Z", root=root)
    assert result.exit_code == 1
    assert any(row["path"] == target and row["level"] == "error" for row in json.loads(result.stdout))


def test_schema_command_prints_every_kind() -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == set(FILE_KINDS)
    one = json.loads(run("schema", "rotation").stdout)
    assert one["additionalProperties"] is False
    assert one["properties"]["shift"]["default"] == "1w"
    assert one["properties"]["handoff"]["default"] == "09:00"
