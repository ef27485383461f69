"""The secondary of a shift and reduced duty (docs/schedule.md).

The secondary (depth 2) is the next member after the final primary, in the order of the
roster in force, who is available for the whole shift; if none is, the next member,
marked reduced. A primary who could not swap keeps the shift with reduced duty: while
they are unavailable the secondary is paged first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from opsctl.engine.schedule.availability import Availability
from opsctl.engine.schedule.roster import RosterPeriod
from opsctl.engine.schedule.timeline import Step


def choose_secondary(
    period: RosterPeriod,
    primary: str,
    start: datetime,
    end: datetime,
    availability: Availability,
    *,
    holidays: bool,
    name: Callable[[str], str],
) -> tuple[str | None, Step | None, bool]:
    """The secondary for a shift ``[start, end)`` whose final primary is ``primary``, the
    step that explains the choice (None for the plain next member), and whether the
    secondary has reduced duty (nobody was available for the whole shift)."""
    members = period.members
    if len(members) < 2:
        return None, None, False
    at = members.index(primary) if primary in members else -1
    candidates = [members[(at + step) % len(members)] for step in range(1, len(members) + 1)]
    candidates = [c for c in candidates if c != primary]
    skipped: list[str] = []
    for candidate in candidates:
        if availability.available(candidate, start, end, holidays=holidays):
            if not skipped:
                return candidate, None, False
            return (
                candidate,
                Step(
                    "secondary",
                    f"{name(candidate)} is secondary: {', '.join(name(s) for s in skipped)} "
                    f"{'is' if len(skipped) == 1 else 'are'} unavailable during this shift",
                    f"secondary: {', '.join(skipped)} away",
                ),
                False,
            )
        skipped.append(candidate)
    chosen = candidates[0]
    return (
        chosen,
        Step(
            "secondary",
            f"no member is available for the whole shift as secondary: {name(chosen)} is secondary with reduced duty",
            "secondary: nobody available all shift",
        ),
        True,
    )
