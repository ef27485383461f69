from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.system.holidays import LibraryHolidays

_CALENDAR = LibraryHolidays()


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own cache folder and a fixed local time zone."""
    monkeypatch.setenv("OPSCTL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("OPSCTL_ROOT", raising=False)
    yield


@pytest.fixture
def calendar() -> LibraryHolidays:
    """The real holiday library, shared so each country-year is computed once per run."""
    return _CALENDAR


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).parent.parent
