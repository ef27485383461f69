"""The rich table of `opsctl whoisoncall`, kept apart so the fast path can draw it without the engine."""

from __future__ import annotations

from typing import Any


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
