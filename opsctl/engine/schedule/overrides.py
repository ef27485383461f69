"""Overrides: applied last, to their interval only, and they win (docs/schedule.md).

Times without an offset are in the rotation's time zone. A date is a whole local day, as
in time off: a start date begins at its midnight, an end date covers that whole day.
Where overrides of the same role overlap, the one written later in the file wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsctl.engine.schedule.availability import to_instant
from opsctl.model import Org, Override, Rotation
from opsctl.model.zones import zone


@dataclass(frozen=True)
class OverrideSpan:
    start: datetime
    end: datetime
    role: str
    person: str
    override: Override


def override_spans(org: Org, rotation: Rotation) -> list[OverrideSpan]:
    """The rotation's overrides as UTC intervals, in file order."""
    tz = zone(rotation.timezone)
    spans = []
    for override in org.overrides:
        if override.rotation != rotation.id:
            continue
        start, end = to_instant(override.start, tz), to_instant(override.end, tz, end_of_day=True)
        if end > start:
            spans.append(OverrideSpan(start, end, override.role, override.person, override))
    return spans


def winning(spans: list[OverrideSpan], role: str, start: datetime, end: datetime) -> OverrideSpan | None:
    """The override of ``role`` covering all of ``[start, end)``; the last written wins."""
    found = None
    for span in spans:
        if span.role == role and span.start <= start and end <= span.end:
            found = span
    return found
