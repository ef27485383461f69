"""Who should be on a PagerDuty schedule when, and the overrides that make it so.

A PagerDuty schedule is layers (a rotation repeating forever, optionally restricted to
weekly windows) plus overrides (a person for an interval). opsctl writes the plain
rotation as layers and everything the engine adds on top (swaps, reduced duty, the
repository's overrides) as overrides: wherever the person who should be paged differs
from the person the layers give, an override names them.

Pure: intervals in, intervals out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from opsctl.model import WorkingHours
from opsctl.model.spelling import WEEKDAYS


@dataclass(frozen=True)
class Assignment:
    """During ``[start, end)`` ``person`` should be on the schedule where the layers put ``base``."""

    start: datetime
    end: datetime
    person: str
    base: str | None
    why: str = ""


@dataclass(frozen=True)
class OverrideSpec:
    """A PagerDuty override opsctl wants: ``person`` on the schedule for ``[start, end)``."""

    start: datetime
    end: datetime
    person: str
    why: str = ""


def to_overrides(assignments: Iterable[Assignment]) -> list[OverrideSpec]:
    """Overrides for the assignments whose person differs from the layers' person.

    Adjacent intervals with the same person become one override (the first one's reason
    is kept), so that a swap week split by an unrelated slot boundary is one override.
    """
    out: list[OverrideSpec] = []
    for item in sorted(assignments, key=lambda a: (a.start, a.end)):
        if item.person == item.base or item.end <= item.start:
            continue
        last = out[-1] if out else None
        if last is not None and last.end == item.start and last.person == item.person:
            out[-1] = OverrideSpec(last.start, item.end, last.person, last.why)
        else:
            out.append(OverrideSpec(item.start, item.end, item.person, item.why))
    return out


@dataclass(frozen=True)
class Restriction:
    """A PagerDuty weekly restriction: on call from ``day`` (1 Monday … 7 Sunday) at ``start`` for ``seconds``."""

    day: int
    start: time
    seconds: int

    def text(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        length = f"{hours}h" + (f"{rest // 60}m" if rest else "")
        return f"{WEEKDAYS[self.day - 1].title()} {self.start:%H:%M} for {length}"


def restrictions_for(hours: WorkingHours | None) -> tuple[Restriction, ...]:
    """Weekly restrictions that put a person on call only in ``hours`` (none: always)."""
    if hours is None:
        return ()
    reference = date(2024, 1, 1)  # any day: only the length of the clock interval matters
    start = datetime.combine(reference, hours.start)
    end = datetime.combine(reference, hours.end)
    if end <= start:
        end += timedelta(days=1)  # hours across midnight
    seconds = int((end - start).total_seconds())
    return tuple(Restriction(WEEKDAYS.index(day) + 1, hours.start, seconds) for day in sorted(hours.days, key=WEEKDAYS.index))
