"""Schedule findings for validate: coverage gaps and time off nobody can cover.

Over the org's horizon (90 days by default) from ``now``:

- a *coverage gap* is an instant when nobody on call for a rotation can take a page
  (the primary is away and there is no secondary, or the secondary is away too), or the
  rotation has not started yet;
- *uncovered time off* is time off during a shift whose primary found nobody to swap
  with, so the shift runs with reduced duty (public holidays are left to the coverage
  check: reduced duty is how the schedule handles them);
- an override whose person has time off during it (their public holidays do not count:
  an override is an agreement to cover).

All are warnings: they are facts about the coming weeks that the team should act on, not
mistakes in the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from opsctl.engine.holidays import HolidayCalendar
from opsctl.engine.schedule.overrides import override_spans
from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org, Rotation
from opsctl.model.findings import Finding, warning
from opsctl.model.zones import zone


def check_schedule(org: Org, *, now: datetime, holidays: HolidayCalendar) -> list[Finding]:
    engine = Engine(org, holidays)
    end = now + org.settings.horizon
    findings: list[Finding] = []
    for rotation in org.rotations.values():
        slots = engine.slots(rotation.id, now, end)
        findings.extend(_not_started(org, engine, rotation, now, end))
        findings.extend(_gaps(org, engine, rotation, slots))
        findings.extend(_uncovered_absences(org, engine, rotation, slots))
        findings.extend(_override_people_away(org, engine, rotation, now, end))
    return findings


def _show(instant: datetime, rotation: Rotation) -> str:
    return f"{instant.astimezone(zone(rotation.timezone)):%Y-%m-%d %H:%M}"


def _not_started(org: Org, engine: Engine, rotation: Rotation, now: datetime, end: datetime) -> Iterator[Finding]:
    first = engine.grid(rotation.id).boundary(0)
    if now < first:
        others = [r.id for r in org.rotations_of(rotation.team) if r.id != rotation.id and engine.grid(r.id).boundary(0) <= now]
        if others:
            return
        until = "within the horizon" if first < end else "after the horizon"
        yield warning(
            f"rotation {rotation.id!r} starts {_show(first, rotation)} ({until}): "
            f"team {rotation.team!r} has nobody on call until then",
            org.sources.of(rotation, "start"),
            code="coverage-gap",
        )


def _gaps(org: Org, engine: Engine, rotation: Rotation, slots: list[Slot]) -> Iterator[Finding]:
    run: list[Slot] = []
    for slot in [*slots, None]:
        if slot is not None and not slot.covered and (not run or run[-1].end == slot.start):
            run.append(slot)
            continue
        if run:
            first = run[0]
            away = [first.primary] + ([first.secondary] if first.secondary else [])
            who = " and ".join(engine.name(p) for p in away)
            yield warning(
                f"nobody on call for rotation {rotation.id!r} from {_show(first.start, rotation)} to "
                f"{_show(run[-1].end, rotation)}: {who} {'are' if len(away) > 1 else 'is'} unavailable",
                org.sources.of(rotation, "id"),
                hint="add an override for that time, or move the time off",
                code="coverage-gap",
            )
            run = []
        if slot is not None and not slot.covered:
            run.append(slot)


def _uncovered_absences(org: Org, engine: Engine, rotation: Rotation, slots: list[Slot]) -> Iterator[Finding]:
    reported: set[tuple[int, int]] = set()
    for slot in slots:
        if slot.primary_available:
            continue
        shift = engine.shift(rotation.id, slot.shift)
        if not shift.no_swap or slot.primary != shift.primary:
            continue  # an override's person being away is reported separately
        # Public holidays are known to everyone and reduced duty is how the schedule handles
        # them; time off is a plan somebody can still change, so it is worth a finding.
        for absence in engine.availability.conflicts(slot.primary, slot.start, slot.end, holidays=False):
            key = (slot.shift, id(absence.time_off))
            if key in reported:
                continue
            reported.add(key)
            secondary = (
                f"the secondary {engine.name(slot.secondary)} is paged first" if slot.secondary else "nobody else is on call"
            )
            message = (
                f"{engine.name(slot.primary)} is primary of {rotation.id!r} shift {slot.shift} "
                f"({_show(shift.start, rotation)} to {_show(shift.end, rotation)}) during {absence.describe()} "
                f"and no swap is possible: reduced duty, {secondary}"
            )
            yield warning(
                message,
                org.sources.of(absence.time_off, "start"),
                hint="agree a swap and write it as an override",
                code="uncovered-time-off",
            )


def _override_people_away(org: Org, engine: Engine, rotation: Rotation, now: datetime, end: datetime) -> Iterator[Finding]:
    for span in override_spans(org, rotation):
        if span.end <= now or span.start >= end:
            continue
        conflicts = engine.availability.conflicts(span.person, span.start, span.end, holidays=False)
        if conflicts:
            yield warning(
                f"override person {engine.name(span.person)} is unavailable during the override ({conflicts[0].describe()})",
                org.sources.of(span.override, "person"),
                code="override-person-away",
            )
