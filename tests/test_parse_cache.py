"""Pieces of files kept between runs: the same org, findings and places as reading afresh,
only the pieces that changed read again, and nothing taken that no longer fits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.repo import loader, yaml_reader
from opsctl.repo.loader import LoadResult, MemoryFiles, load
from opsctl.repo.parse_cache import ParseCache
from tests.test_loader_batches import EXAMPLE, assert_same
from tests.test_validate_fuzz import mutate


@pytest.fixture
def batched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every list of more than two items read two at a time."""
    monkeypatch.setattr(loader, "BATCHED_FROM", 0)
    monkeypatch.setattr(yaml_reader, "BATCH_ITEMS", 2)


def cached(files: dict[str, str], stored: bytes | None, version: str = "v1") -> tuple[LoadResult, ParseCache]:
    cache = ParseCache(stored, version)
    return load(MemoryFiles(dict[str, Any](files)), cache=cache), cache


def fresh(files: dict[str, str]) -> LoadResult:
    return load(MemoryFiles(dict[str, Any](files)))


@pytest.mark.usefixtures("batched")
def test_a_second_run_reads_nothing_and_finds_the_same() -> None:
    first, cache = cached(EXAMPLE, None)
    assert cache.read > 0
    stored = cache.dump()
    second, again = cached(EXAMPLE, stored)
    assert again.read == 0
    assert again.dump() is None  # nothing to write back
    assert_same(fresh(EXAMPLE), first)
    assert_same(fresh(EXAMPLE), second)


@pytest.mark.usefixtures("batched")
def test_an_edit_reads_again_only_the_pieces_it_touched() -> None:
    _, cache = cached(EXAMPLE, None)
    stored = cache.dump()
    files = dict(EXAMPLE)
    text = files["ownership.yaml"]
    at = text.index("  - id: aggregate_growth_investors")
    files["ownership.yaml"] = text[:at] + text[at:].replace("tier: investor-facing", "tier: investor-facin", 1)
    edited, again = cached(files, stored)
    assert again.read == 1  # the batch of that one pipeline
    assert_same(fresh(files), edited)
    assert [f.message for f in edited.findings if f.is_error] == [
        "unknown tier 'investor-facin' (did you mean 'investor-facing'?)"
    ]


@pytest.mark.usefixtures("batched")
def test_findings_are_taken_only_at_the_line_they_were_read_at() -> None:
    files = dict(EXAMPLE)
    files["ownership.yaml"] = files["ownership.yaml"].replace(
        "    tier: investor-facing\n", "    tier: investor-facing\n    tier: x\n", 1
    )
    _, cache = cached(files, None)
    stored = cache.dump()
    moved = dict(files)
    moved["ownership.yaml"] = "# a comment that moves every line down\n" + files["ownership.yaml"]
    result, again = cached(moved, stored)
    assert_same(fresh(moved), result)
    assert any("first at line" in f.message for f in result.findings)
    assert again.read >= 1


def test_a_cache_of_another_version_or_damaged_is_ignored() -> None:
    _, cache = cached(EXAMPLE, None, "v1")
    stored = cache.dump()
    assert stored is not None
    _, other = cached(EXAMPLE, stored, "v2")
    assert other.read == cache.read
    result, damaged = cached(EXAMPLE, stored[: len(stored) // 2], "v1")
    assert damaged.read == cache.read
    assert_same(fresh(EXAMPLE), result)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_edits_read_the_same_with_the_cache(monkeypatch: pytest.MonkeyPatch, data: st.DataObject) -> None:
    monkeypatch.setattr(loader, "BATCHED_FROM", 0)
    monkeypatch.setattr(yaml_reader, "BATCH_ITEMS", 2)
    before, after = mutate(data), mutate(data)
    _, cache = cached(before, None)
    result, _ = cached(after, cache.dump())
    assert_same(fresh(after), result)
