"""`opsctl whoisoncall`: per rotation, who is on call at an instant, and why.

:func:`answers` returns plain dicts (the JSON shape documented in docs/schedule.md), which
the table renderer and the server's ``/v1/oncall`` share.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from opsctl.engine.escalation import absence_reason, in_working_hours
from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.timeline import Slot
from opsctl.errors import UsageError
from opsctl.model import Org
from opsctl.model.spelling import did_you_mean


def iso(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def person_json(org: Org, person_id: str | None, **extra: Any) -> dict[str, Any] | None:
    if person_id is None:
        return None
    person = org.people.get(person_id)
    out: dict[str, Any] = {
        "id": person_id,
        "name": person.name if person else person_id,
        "email": person.email if person else None,
    }
    out.update(extra)
    return out


def rotation_answer(org: Org, engine: Engine, rotation_id: str, instant: datetime) -> dict[str, Any]:
    rotation = org.rotations[rotation_id]
    team = org.teams.get(rotation.team)
    slot = engine.at(rotation_id, instant)
    base: dict[str, Any] = {
        "team": rotation.team,
        "team_name": team.name if team else rotation.team,
        "rotation": rotation.id,
        "rotation_name": rotation.title,
        "at": iso(instant, rotation.timezone),
    }
    if slot is None:
        first = engine.grid(rotation_id).boundary(0)
        base.update(
            primary=None,
            secondary=None,
            start=None,
            end=iso(first, rotation.timezone),
            shift=None,
            reduced=False,
            reasons=[f"the rotation starts {iso(first, rotation.timezone)}; nobody is on call before"],
        )
        return base
    return base | slot_json(org, slot, rotation.timezone)


def slot_json(org: Org, slot: Slot, zone: str) -> dict[str, Any]:
    """A slot as JSON. ``reduced`` at the top and on the primary: the primary is away and the
    secondary is paged first; on the secondary: nobody could take the whole shift as secondary."""
    return {
        "primary": person_json(org, slot.primary, available=slot.primary_available, reduced=slot.reduced),
        "secondary": person_json(org, slot.secondary, available=slot.secondary_available, reduced=slot.secondary_reduced),
        "start": iso(slot.start, zone),
        "end": iso(slot.end, zone),
        "shift": {"index": slot.shift, "start": iso(slot.shift_start, zone), "end": iso(slot.shift_end, zone)},
        "reduced": slot.reduced,
        "reasons": slot.reasons,
        "brief": slot.brief_reasons,
    }


def pick_rotations(org: Org, team: str | None) -> list[str]:
    if team is None:
        return list(org.rotations)
    if team not in org.teams:
        raise UsageError(f"unknown team {team!r}{did_you_mean(team, org.teams)}")
    found = [r.id for r in org.rotations_of(team)]
    if not found:
        raise UsageError(f"team {team!r} has no rotation")
    return found


def answers(
    org: Org, engine: Engine, instant: datetime, *, team: str | None = None, pipeline: str | None = None
) -> list[dict[str, Any]]:
    """The whoisoncall answers: one per rotation, or one per pipeline with ``pipeline``."""
    if pipeline is None:
        return [rotation_answer(org, engine, rid, instant) for rid in pick_rotations(org, team)]
    if pipeline not in org.pipelines:
        raise UsageError(f"unknown pipeline {pipeline!r}{did_you_mean(pipeline, org.pipelines)}")
    found = org.pipelines[pipeline]
    owners = {}
    for role in ("primary", "secondary"):
        person_id = getattr(found, role)
        absent = absence_reason(engine, person_id, instant)
        person = org.people.get(person_id)
        in_hours = in_working_hours(person, org, instant) if person else True
        owners[role] = person_json(
            org, person_id, available=not absent, unavailable_because=absent or None, in_working_hours=in_hours
        )
    return [
        {
            "pipeline": found.id,
            "pipeline_name": found.name,
            "team": found.team,
            "tier": found.tier,
            "at": instant.isoformat(timespec="seconds"),
            "owners": owners,
            "oncall": [rotation_answer(org, engine, r.id, instant) for r in org.rotations_of(found.team)],
        }
    ]


def schedule_slots(
    org: Org,
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    team: str | None = None,
    person: str | None = None,
    whole_shifts: bool = False,
    rotation: str | None = None,
) -> list[Slot]:
    """The slots of the chosen rotations (``team``'s, or the one ``rotation``) in ``[start, end)``, in time order.

    Slots are whole, not clipped to the window; with ``whole_shifts``, every slot of each
    shift the window touches (a calendar's events are whole shifts whatever the window).
    With ``person``, only the slots where that person is primary or secondary.
    """
    if person is not None and person not in org.people:
        raise UsageError(f"unknown person {person!r}{did_you_mean(person, org.people)}")
    if rotation is not None and rotation not in org.rotations:
        raise UsageError(f"unknown rotation {rotation!r}{did_you_mean(rotation, org.rotations)}")
    slots: list[Slot] = []
    for rotation_id in [rotation] if rotation is not None else pick_rotations(org, team):
        lo, hi = start, end
        if whole_shifts:
            grid = engine.grid(rotation_id)
            lo = grid.boundary(max(0, grid.index_at(start)))
            hi = max(end, grid.boundary(max(0, grid.index_at(end - timedelta(microseconds=1))) + 1))
        for slot in engine.slots(rotation_id, lo, hi, clip=False):
            if person is None or person in (slot.primary, slot.secondary):
                slots.append(slot)
    slots.sort(key=lambda s: (s.start, s.rotation))
    return slots


def schedule_json(org: Org, slots: list[Slot]) -> list[dict[str, Any]]:
    out = []
    for slot in slots:
        rotation = org.rotations[slot.rotation]
        out.append({"team": slot.team, "rotation": slot.rotation} | slot_json(org, slot, rotation.timezone))
    return out


def explain_lines(org: Org, engine: Engine, instant: datetime, team: str, *, width: int = 80) -> list[str]:
    """`opsctl explain`: the steps behind the answer for each of the team's rotations.

    Lines are wrapped at spaces to ``width``, each step's continuation indented under its
    text. A person is named in full ("Daniel Okafor (de2)") the first time and by name
    alone after that, and the rotation, named in the heading, is not repeated.
    """
    from opsctl.answers.columns import wrap

    lines: list[str] = []

    def say(text: str, first: str = "", rest: str = "") -> None:
        lines.extend(
            (rest if number else first) + line for number, line in enumerate(wrap(text, max(width - len(rest or first), 20)))
        )

    for rotation_id in pick_rotations(org, team):
        rotation = org.rotations[rotation_id]
        zone = ZoneInfo(rotation.timezone)
        say(f"{rotation.title} ({rotation.id}) at {instant.astimezone(zone):%Y-%m-%d %H:%M %Z}", rest="  ")
        slot = engine.at(rotation_id, instant)
        if slot is None:
            first = engine.grid(rotation_id).boundary(0).astimezone(zone)
            say(f"nobody is on call: the rotation starts {first:%Y-%m-%d %H:%M %Z}", "  ", "  ")
            lines.append("")
            continue
        named: set[str] = set()
        for number, step in enumerate(slot.trail, start=1):
            text = step.text.replace(f" of {rotation.title}:", ":", 1) if step.layer == "base" else step.text
            head = f"  {number}. [{step.layer}] "
            say(_named_once(org, engine, text, named), head, " " * len(head))
        secondary = ""
        if slot.secondary:
            secondary = f", secondary {_named_once(org, engine, engine.name(slot.secondary), named)}"
            if slot.secondary_reduced:
                secondary += " (reduced: nobody could take the whole shift as secondary)"
        state = " (reduced duty: the secondary is paged first)" if slot.reduced else ""
        say(f"=> primary {_named_once(org, engine, engine.name(slot.primary), named)}{secondary}{state}", "  ", "     ")
        say(
            f"from {slot.start.astimezone(zone):%Y-%m-%d %H:%M} until {slot.end.astimezone(zone):%Y-%m-%d %H:%M %Z}",
            "     ",
            "     ",
        )
        lines.append("")
    return lines


def _named_once(org: Org, engine: Engine, text: str, named: set[str]) -> str:
    """``text`` with each "Name (id)" after the first of an explanation shortened to "Name"."""
    for person_id, person in org.people.items():
        full = engine.name(person_id)
        if f"({person_id})" not in text or full not in text:
            continue
        if person_id in named:
            text = text.replace(full, person.name)
        else:
            head, _, tail = text.partition(full)
            text = head + full + tail.replace(full, person.name)
            named.add(person_id)
    return text


def compiled_rotations(org: Org, engine: Engine, now: datetime, days: int) -> list[dict[str, Any]]:
    """Per rotation, every answer from ``now`` for ``days``: ``[start, end, row]`` with UTC
    timestamps, where ``row`` is :func:`rotation_answer`'s row without ``at``. The fast
    path (:mod:`opsctl.cli.answer_cache`) answers from these without loading the org."""
    end = now + timedelta(days=days)
    out = []
    for rotation in org.rotations.values():
        team = org.teams.get(rotation.team)
        base = {
            "team": rotation.team,
            "team_name": team.name if team else rotation.team,
            "rotation": rotation.id,
            "rotation_name": rotation.title,
        }
        slots: list[list[Any]] = []
        first = engine.grid(rotation.id).boundary(0)
        if now < first:
            before = rotation_answer(org, engine, rotation.id, now)
            before.pop("at")
            slots.append([0.0, first.timestamp(), before])
        for slot in engine.slots(rotation.id, now, end, clip=False):
            slots.append([slot.start.timestamp(), slot.end.timestamp(), base | slot_json(org, slot, rotation.timezone)])
        out.append({"id": rotation.id, "team": rotation.team, "timezone": rotation.timezone, "slots": slots})
    return out
