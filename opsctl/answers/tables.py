"""Terminal tables of the on-call answers, kept apart so the answer cache can draw them without the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.engine.schedule.timeline import Slot
    from opsctl.model import Org


def who(person: dict[str, Any] | None) -> str:
    if person is None:
        return "—"
    mark = "" if person.get("available", True) is not False else " (away)"
    return f"{person['name']} ({person['id']}){mark}"


def render_table(rows: list[dict[str, Any]], *, color: bool, width: int) -> str:
    """A rich table for people; ``rows`` as returned by :func:`answers`."""
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    if rows and "pipeline" in rows[0]:
        for row in rows:
            table = Table(title=f"{row['pipeline_name']} ({row['pipeline']}) · tier {row['tier']}", title_justify="left")
            for column in ("Role", "Who", "Available", "In working hours"):
                table.add_column(column)
            for role, owner in row["owners"].items():
                table.add_row(
                    f"{role} owner",
                    who(owner),
                    "yes" if owner["available"] else f"no: {owner['unavailable_because']}",
                    "yes" if owner["in_working_hours"] else "no",
                )
            console.print(table)
            rows = row["oncall"]
    table = Table(title="On call", title_justify="left")
    for column in ("Team", "Rotation", "Primary", "Secondary", "Until", "Notes"):
        table.add_column(column, overflow="fold")
    for row in rows:
        notes = ("REDUCED · " if row["reduced"] else "") + "; ".join(row.get("brief") or row["reasons"])
        until = (row["end"] or "")[:16].replace("T", " ")
        table.add_row(row["team_name"], row["rotation_name"], who(row["primary"]), who(row["secondary"]), until, notes)
    console.print(table)
    return buffer.getvalue()


def render_schedule_table(org: Org, slots: list[Slot], *, color: bool, width: int) -> str:
    import io
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    from opsctl.answers.oncall import person_json

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color, highlight=False)
    table = Table(title="Schedule", title_justify="left")
    for column in ("Rotation", "From", "To", "Primary", "Secondary", "Notes"):
        table.add_column(column, overflow="fold")
    for slot in slots:
        zone = ZoneInfo(org.rotations[slot.rotation].timezone)
        notes = ("REDUCED · " if slot.reduced else "") + "; ".join(slot.brief_reasons)
        table.add_row(
            slot.rotation,
            f"{slot.start.astimezone(zone):%a %Y-%m-%d %H:%M}",
            f"{slot.end.astimezone(zone):%a %Y-%m-%d %H:%M}",
            who(person_json(org, slot.primary, available=slot.primary_available)),
            who(person_json(org, slot.secondary, available=slot.secondary_available)),
            notes,
        )
    console.print(table)
    return buffer.getvalue()
