"""Long lists composed a batch at a time read exactly what composing the file whole reads:
the same objects, findings, placeholders and locations, whatever the text."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.model.findings import Finding
from opsctl.repo import loader, yaml_reader
from opsctl.repo.loader import LoadResult, MemoryFiles, load
from opsctl.repo.yaml_reader import split_batches
from tests.support import CASES, REPO_ROOT, read_tree
from tests.test_validate_fuzz import mutate

BASE = read_tree(CASES / "validate" / "_base")
EXAMPLE = {
    path: text
    for folder in ("rotations", "service_catalog", "runbooks")
    for path, text in read_tree(REPO_ROOT / folder).items()
    for path in [f"{folder}/{path}"]
    if path.endswith((".yaml", ".md"))
} | {"ownership.yaml": (REPO_ROOT / "ownership.yaml").read_text("utf-8")}


def both(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[LoadResult, LoadResult]:
    """The repository loaded whole and with every list of more than two items batched by two."""
    with monkeypatch.context() as patch:
        patch.setattr(loader, "BATCHED_FROM", 10**12)
        whole = load(MemoryFiles(dict[str, Any](files)))
    with monkeypatch.context() as patch:
        patch.setattr(loader, "BATCHED_FROM", 0)
        patch.setattr(yaml_reader, "BATCH_ITEMS", 2)
        batched = load(MemoryFiles(dict[str, Any](files)))
    return whole, batched


def shown(findings: list[Finding]) -> list[tuple[str, str, str, str]]:
    return sorted((str(f.location), f.level, f.message, f.hint) for f in findings)


def objects(value: object) -> Iterator[object]:
    """Every model object under ``value``, in a fixed order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for f in dataclasses.fields(value):
            if f.compare:
                yield from objects(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from objects(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from objects(item)


def assert_same(whole: LoadResult, batched: LoadResult) -> None:
    assert batched.org == whole.org
    assert shown(batched.findings) == shown(whole.findings)
    assert shown(batched.placeholders) == shown(whole.placeholders)
    assert batched.broken == whole.broken
    for mine, theirs in zip(objects(batched.org), objects(whole.org), strict=True):
        assert batched.org.sources.of(mine) == whole.org.sources.of(theirs)
        for f in dataclasses.fields(mine):  # type: ignore[arg-type]
            assert batched.org.sources.of(mine, f.name) == whole.org.sources.of(theirs, f.name), (mine, f.name)
            items = getattr(mine, f.name)
            if isinstance(items, tuple):
                for index in range(len(items)):
                    assert batched.org.sources.of(mine, f.name, index) == whole.org.sources.of(theirs, f.name, index)


def test_the_example_org_reads_the_same_batched(monkeypatch: pytest.MonkeyPatch) -> None:
    whole, batched = both(EXAMPLE, monkeypatch)
    assert whole.ok
    assert_same(whole, batched)


def test_the_lists_are_really_batched() -> None:
    text = EXAMPLE["ownership.yaml"]
    cut = split_batches(text, 2)
    assert cut is not None
    assert {"people", "pipelines"} <= set(cut.lists)
    assert len(cut.skeleton) == len(text)
    assert yaml.safe_load(cut.skeleton)["pipelines"] == []


@pytest.mark.parametrize(
    "text",
    [
        "people:\n- id: a\n- id: b\n- id: c\n",  # a list at the key's own indentation
        "people:\n  - id: a\n    name: x\n  - id: b\n\n  # a comment\n  - id: c\nteams: []\n",
        "people:\n  - id: a\r\n  - id: b\r\n  - id: c\r\n",
    ],
)
def test_plain_layouts_are_batched(text: str) -> None:
    cut = split_batches(text, 2)
    assert cut is not None and [b.count for b in cut.lists["people"]] == [2, 1]
    assert yaml.safe_load(cut.skeleton)["people"] == []


@pytest.mark.parametrize(
    "text",
    [
        "people: &all\n  - id: a\n  - id: b\n  - id: c\nteams: *all\n",  # an alias may reach across batches
        "---\npeople:\n  - id: a\n  - id: b\n  - id: c\n",  # a document marker
        "people: [a,\n  b, c]\n",  # a flow list
        "people:\n  - id: a\n  - id: b\n  oops: 1\n  - id: c\n",  # not a plain list
        "people:\n\t- id: a\n",  # a tab
    ],
)
def test_other_layouts_are_composed_whole(text: str) -> None:
    assert split_batches(text, 2) is None


@pytest.mark.parametrize(
    "text",
    [
        'people:\n  - id: "a\n  - b"\n  - id: c\n  - id: d\n',  # a quoted scalar cut by a "- " line
        "people:\n  - id: [a,\n  - b]\n  - id: c\n  - id: d\n",  # a flow list cut likewise
        "people:\n  - id: a\n  - id: b\n  - id: c\n   - id: d\n",  # an error in the last batch
    ],
)
def test_a_cut_that_does_not_compose_falls_back_to_the_whole(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files = dict(BASE)
    files["ownership.yaml"] = text + BASE["ownership.yaml"].split("teams:", 1)[1].join(["teams:", ""])
    whole, batched = both(files, monkeypatch)
    assert_same(whole, batched)


@pytest.mark.parametrize(
    "text",
    [
        "after:\n- null\n- null\n- after: null\n",  # an unknown key: its empty section is reported all the same
        "people:\n  - id: a\n  - id: b\n  - id: c\npeople:\n  - id: d\n  - id: e\n  - id: f\n",  # a key twice
        "settings:\n  - a\n  -\n  - after:\n",  # a key that reads a mapping
    ],
)
def test_lists_under_keys_that_read_no_list_are_composed_whole(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    files = dict(BASE)
    files["ownership.yaml"] = text
    whole, batched = both(files, monkeypatch)
    assert whole.findings
    assert_same(whole, batched)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_repositories_read_the_same_batched(monkeypatch: pytest.MonkeyPatch, data: st.DataObject) -> None:
    whole, batched = both(mutate(data), monkeypatch)
    assert_same(whole, batched)


@pytest.mark.parametrize("batched", [False, True])
def test_extents_are_where_each_object_starts_and_ends(batched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if batched:
        monkeypatch.setattr(loader, "BATCHED_FROM", 0)
        monkeypatch.setattr(yaml_reader, "BATCH_ITEMS", 2)
    result = load(MemoryFiles(dict[str, Any](EXAMPLE)))
    nodes = {
        item.value[0][1].value: item
        for key, value in yaml.compose(EXAMPLE["ownership.yaml"]).value
        if key.value == "pipelines"
        for item in value.value
    }
    for pipeline in result.org.pipelines.values():
        node = nodes[pipeline.id]
        start, end = result.org.sources.extent(pipeline)  # type: ignore[misc]
        assert (start.line, start.column) == (node.start_mark.line + 1, node.start_mark.column + 1)
        assert (end.line, end.column) == (node.end_mark.line + 1, node.end_mark.column + 1)
