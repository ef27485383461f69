"""Public holidays as the engine sees them: a protocol the edges implement.

The engine never imports the holiday library, reads a file or the environment; it asks
a :class:`HolidayCalendar` passed in by the caller (:mod:`opsctl.system.holidays` at the
edges, a table in tests).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol


class HolidayCalendar(Protocol):
    def holidays(self, country: str, subdivision: str | None, year: int) -> dict[date, str]:
        """Public holidays of ``country`` (and ``subdivision``) in ``year``: date → name."""

    def supported(self) -> dict[str, list[str]]:
        """Supported country codes and their subdivision codes."""
