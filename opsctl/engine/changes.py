"""What a change to the files does: ownership changes and the shifts that move.

Pure: two orgs, their engines and a window in, a :class:`OrgDiff` out. ``opsctl diff``
reads the old org from git (:mod:`opsctl.repo.git`) and renders the result as text,
Markdown for a pull request, or JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org, Override, TimeOff
from opsctl.model.spelling import format_clock, format_duration

Action = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class EntityChange:
    """A person, team, pipeline, rotation, service, time off or override that changed."""

    kind: str
    id: str
    action: Action
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ShiftChange:
    """An interval in which a role of a rotation goes to somebody else."""

    rotation: str
    role: Literal["primary", "secondary"]
    start: datetime
    end: datetime
    before: str | None
    after: str | None


@dataclass(frozen=True)
class OrgDiff:
    entities: tuple[EntityChange, ...]
    shifts: tuple[ShiftChange, ...]
    start: datetime
    end: datetime

    @property
    def empty(self) -> bool:
        return not self.entities and not self.shifts


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return format_clock(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return (
            ", ".join(_show(v) for v in value) if all(not dataclasses.is_dataclass(v) for v in value) else f"{len(value)} item(s)"
        )
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if dataclasses.is_dataclass(value):
        return "…"
    return str(value)


def _field_changes(old: Any, new: Any) -> tuple[FieldChange, ...]:
    changes = []
    for f in dataclasses.fields(old):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            shown_before, shown_after = _show(before), _show(after)
            if shown_before == shown_after:  # nested details changed
                shown_before, shown_after = "…", "changed"
            changes.append(FieldChange(f.name, shown_before, shown_after))
    return tuple(changes)


def _by_id(kind: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[EntityChange]:
    for key in old.keys() - new.keys():
        yield EntityChange(kind, key, "removed")
    for key in new.keys() - old.keys():
        yield EntityChange(kind, key, "added")
    for key in old.keys() & new.keys():
        if old[key] != new[key]:
            yield EntityChange(kind, key, "changed", _field_changes(old[key], new[key]))


def _describe_time_off(entry: TimeOff) -> str:
    span = _show(entry.start) if entry.start == entry.end else f"{_show(entry.start)} to {_show(entry.end)}"
    return f"{entry.person} {span}" + (f" ({entry.reason})" if entry.reason else "")


def _describe_override(entry: Override) -> str:
    reason = f" ({entry.reason})" if entry.reason else ""
    return f"{entry.rotation} {entry.role} {entry.person} {_show(entry.start)} to {_show(entry.end)}{reason}"


def _as_set(kind: str, old: Iterable[Any], new: Iterable[Any], describe: Any) -> Iterator[EntityChange]:
    old_set, new_set = set(old), set(new)
    for entry in sorted(old_set - new_set, key=describe):
        yield EntityChange(kind, describe(entry), "removed")
    for entry in sorted(new_set - old_set, key=describe):
        yield EntityChange(kind, describe(entry), "added")


def ownership_changes(old: Org, new: Org) -> list[EntityChange]:
    changes: list[EntityChange] = []
    changes += _by_id("person", old.people, new.people)
    changes += _by_id("team", old.teams, new.teams)
    changes += _by_id("pipeline", old.pipelines, new.pipelines)
    changes += _by_id("rotation", old.rotations, new.rotations)
    changes += _by_id("service", {s.id: s for s in old.services()}, {s.id: s for s in new.services()})
    changes += _as_set("time off", old.time_off, new.time_off, _describe_time_off)
    changes += _as_set("override", old.overrides, new.overrides, _describe_override)
    if old.settings != new.settings:
        changes.append(EntityChange("settings", "settings", "changed", _field_changes(old.settings, new.settings)))
    order = {"settings": 0, "person": 1, "team": 2, "pipeline": 3, "rotation": 4, "time off": 5, "override": 6, "service": 7}
    return sorted(changes, key=lambda c: (order.get(c.kind, 9), c.id, c.action))


def _who(slot: Slot | None, role: str) -> str | None:
    if slot is None:
        return None
    return slot.primary if role == "primary" else slot.secondary


def _slot_at(slots: list[Slot], instant: datetime) -> Slot | None:
    return next((s for s in slots if s.start <= instant < s.end), None)


def shift_changes(
    old: Org, new: Org, old_engine: Engine, new_engine: Engine, start: datetime, end: datetime
) -> list[ShiftChange]:
    """Every interval of ``[start, end)`` in which a rotation's primary or secondary differs."""
    changes: list[ShiftChange] = []
    for rotation in sorted(old.rotations.keys() | new.rotations.keys()):
        before = old_engine.slots(rotation, start, end) if rotation in old.rotations else []
        after = new_engine.slots(rotation, start, end) if rotation in new.rotations else []
        cuts = sorted({start, end, *(s.start for s in before), *(s.start for s in after)})
        roles: tuple[Literal["primary", "secondary"], ...] = ("primary", "secondary")
        for role in roles:
            run: ShiftChange | None = None
            for a, b in pairwise(cuts):
                was, now = _who(_slot_at(before, a), role), _who(_slot_at(after, a), role)
                if was == now:
                    if run is not None:
                        changes.append(run)
                        run = None
                    continue
                if run is not None and (run.before, run.after) == (was, now) and run.end == a:
                    run = dataclasses.replace(run, end=b)
                    continue
                if run is not None:
                    changes.append(run)
                run = ShiftChange(rotation, role, a, b, was, now)
            if run is not None:
                changes.append(run)
    return sorted(changes, key=lambda c: (c.start, c.rotation, c.role))


def diff_orgs(old: Org, new: Org, old_engine: Engine, new_engine: Engine, start: datetime, end: datetime) -> OrgDiff:
    return OrgDiff(
        tuple(ownership_changes(old, new)),
        tuple(shift_changes(old, new, old_engine, new_engine, start, end)),
        start,
        end,
    )


# --- rendering --------------------------------------------------------------------------


def _name(orgs: tuple[Org, Org], person: str | None) -> str:
    if person is None:
        return "nobody"
    for org in orgs:
        found = org.people.get(person)
        if found is not None:
            return f"{found.name} ({person})"
    return person


def _zone(orgs: tuple[Org, Org], rotation: str) -> ZoneInfo:
    for org in reversed(orgs):
        if rotation in org.rotations:
            return ZoneInfo(org.rotations[rotation].timezone)
    return ZoneInfo("UTC")


def _when(instant: datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%a %Y-%m-%d %H:%M}"


def _entity_line(change: EntityChange) -> str:
    head = f"{change.kind} {change.id}: {change.action}"
    if change.fields:
        head += "; " + "; ".join(f"{f.field} {f.before} → {f.after}" for f in change.fields)
    return head


def render_text(diff: OrgDiff, old: Org, new: Org) -> str:
    orgs = (old, new)
    if diff.empty:
        return "no changes to ownership or to the schedule"
    lines = ["Ownership:" if diff.entities else "Ownership: no changes"]
    lines += [f"  {_entity_line(c)}" for c in diff.entities]
    span = f"{diff.start:%Y-%m-%d} to {diff.end:%Y-%m-%d}"
    lines.append(f"Schedule, {span}:" if diff.shifts else f"Schedule, {span}: no shift changes")
    for moved in diff.shifts:
        zone = _zone(orgs, moved.rotation)
        lines.append(
            f"  {moved.rotation} {moved.role}, {_when(moved.start, zone)} to {_when(moved.end, zone)} {zone.key}: "
            f"{_name(orgs, moved.before)} → {_name(orgs, moved.after)}"
        )
    return "\n".join(lines)


def render_markdown(diff: OrgDiff, old: Org, new: Org, *, base: str) -> str:
    orgs = (old, new)
    out = [f"### opsctl diff against `{base}`", ""]
    if diff.empty:
        return "\n".join([*out, "No changes to ownership or to the schedule."])
    if diff.entities:
        out += ["#### Ownership", "", "| | what | change |", "| --- | --- | --- |"]
        for change in diff.entities:
            detail = "<br>".join(f"`{f.field}`: {f.before} → **{f.after}**" for f in change.fields) or change.action
            out.append(f"| {change.action} | {change.kind} `{change.id}` | {detail} |")
        out.append("")
    span = f"{diff.start:%Y-%m-%d} to {diff.end:%Y-%m-%d}"
    if diff.shifts:
        out += [
            f"#### Shifts that move ({span})",
            "",
            "| rotation | role | from | to | before | after |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for moved in diff.shifts:
            zone = _zone(orgs, moved.rotation)
            out.append(
                f"| {moved.rotation} | {moved.role} | {_when(moved.start, zone)} | {_when(moved.end, zone)} {zone.key} | "
                f"{_name(orgs, moved.before)} | **{_name(orgs, moved.after)}** |"
            )
    else:
        out.append(f"No shift changes from {span}.")
    return "\n".join(out)


def to_json(diff: OrgDiff) -> dict[str, Any]:
    return {
        "window": {"start": diff.start.isoformat(), "end": diff.end.isoformat()},
        "ownership": [
            {"kind": c.kind, "id": c.id, "action": c.action, "fields": [dataclasses.asdict(f) for f in c.fields]}
            for c in diff.entities
        ],
        "shifts": [
            {
                "rotation": c.rotation,
                "role": c.role,
                "start": c.start.isoformat(),
                "end": c.end.isoformat(),
                "before": c.before,
                "after": c.after,
            }
            for c in diff.shifts
        ],
    }
