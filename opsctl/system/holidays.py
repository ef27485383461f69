"""Public holidays from the maintained ``holidays`` library, behind the engine's protocol.

The engine asks a :class:`~opsctl.engine.holidays.HolidayCalendar` for a country's
holidays in a year and never imports the library itself. :class:`LibraryHolidays` asks the library; the CLI wraps it
in :class:`CachedHolidays`, which keeps the answers in a JSON file so that a warm
``opsctl whoisoncall`` never imports the library at all (it costs ~90 ms to import and
compute one country's year). The cache is keyed by the library's installed file, so an
upgrade of ``holidays`` starts a fresh cache.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from opsctl.engine.holidays import HolidayCalendar
from opsctl.system.files import write_atomically

HOLIDAY_LANGUAGE = "en_US"
_SUPPORTED_KEY = "supported-countries"


class LibraryHolidays:
    """The ``holidays`` library, imported on first use."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, str | None, int], dict[date, str]] = {}

    def holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        key = (country, subdivision, year)
        if key not in self._memo:
            import holidays as library

            table: dict[date, str]
            try:
                table = dict(library.country_holidays(country, subdiv=subdivision, years=year, language=HOLIDAY_LANGUAGE).items())
            except (NotImplementedError, KeyError):
                # An unknown country or subdivision: validate reports it; the engine sees none.
                table = {}
            self._memo[key] = dict(sorted(table.items()))
        return self._memo[key]

    def supported(self) -> dict[str, list[str]]:
        import holidays as library

        return {code: list(subdivisions) for code, subdivisions in library.list_supported_countries().items()}


class CachedHolidays:
    """A :class:`HolidayCalendar` that keeps the answers of ``inner`` in a JSON file."""

    def __init__(self, inner: HolidayCalendar, path: Path) -> None:
        self.inner = inner
        self.path = path
        self._table: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self._read: dict[str, dict[date, str]] = {}

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._table is None:
            try:
                data = json.loads(self.path.read_text("utf-8"))
                self._table = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._table = {}
        return self._table

    def holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        key = f"{country}/{subdivision or ''}/{year}"
        read = self._read.get(key)
        if read is not None:
            return dict(read)
        table = self._load()
        entry = table.get(key)
        if not isinstance(entry, dict):
            answer = self.inner.holidays(country, subdivision, year)
            table[key] = {day.isoformat(): name for day, name in answer.items()}
            self._dirty = True
        else:
            answer = {date.fromisoformat(day): name for day, name in entry.items()}
        self._read[key] = answer
        return dict(answer)

    def supported(self) -> dict[str, list[str]]:
        table = self._load()
        entry = table.get(_SUPPORTED_KEY)
        if isinstance(entry, dict):
            return {code: list(subdivisions) for code, subdivisions in entry.items()}
        answer = self.inner.supported()
        table[_SUPPORTED_KEY] = dict(answer)
        self._dirty = True
        return answer

    def save(self) -> None:
        """Write new answers to the cache file; a cache that cannot be written is skipped."""
        if not self._dirty or self._table is None:
            return
        try:
            write_atomically(self.path, json.dumps(self._table, sort_keys=True), make_folder=True)
            self._dirty = False
        except OSError:
            pass


def _library_stamp() -> str:
    """Changes whenever the installed ``holidays`` library changes, without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("holidays")
    origin: Any = spec.origin if spec else None
    if not origin:
        return "none"
    stat = os.stat(origin)
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def default_calendar(cache: Path) -> CachedHolidays:
    """The calendar the edges use: the library behind a cache file in the ``cache`` folder."""
    return CachedHolidays(LibraryHolidays(), cache / f"holidays-{_library_stamp()}.json")
