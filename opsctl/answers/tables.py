"""The tables of the on-call answers, and the one way every command prints a table.

:func:`oncall_table` and :func:`owners_table` build the tables of `opsctl whoisoncall`
from its JSON rows, so the answer cache (:mod:`opsctl.cli.answer_cache`) prints exactly
what the full path prints. :func:`render` draws any :class:`~opsctl.answers.columns.Table`:
boxed (with rich) on a terminal, plain aligned columns when piped, both laid out and
wrapped by :mod:`opsctl.answers.columns`.

Nothing but the standard library is imported at module level.
"""

from __future__ import annotations

from opsctl.answers.columns import Table, cell_lines, comfortable, fit, layout, left_out_note, narrowest, render_plain

BOX_WIDTH = 120
"""The width of a boxed table when there is no terminal to measure and no ``$COLUMNS``."""

TYPE_CHECKING = False  # `typing` costs milliseconds the answer cache does not have
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from opsctl.engine.schedule.timeline import Slot
    from opsctl.model import Org


def who(person: dict[str, Any] | None) -> str:
    """A person of an answer: name and id, marked when away or on reduced duty."""
    if person is None:
        return "-"
    if person.get("available", True) is False:
        mark = " (away)"
    elif person.get("reduced"):
        mark = " (reduced)"
    else:
        mark = ""
    return f"{person['name']} ({person['id']}){mark}"


def _notes(reduced: bool, brief: Sequence[str]) -> str:
    return ("REDUCED: " if reduced else "") + "; ".join(brief)


def _until(end: str | None) -> str:
    return (end or "")[:16].replace("T", " ")


def oncall_table(rows: list[dict[str, Any]]) -> Table:
    """`opsctl whoisoncall`: one line per rotation."""
    lines = [
        [
            row["team"],
            row["rotation"],
            who(row["primary"]),
            who(row["secondary"]),
            _until(row["end"]),
            _notes(row["reduced"], row.get("brief") or row["reasons"]),
        ]
        for row in rows
    ]
    return Table(("Team", "Rotation", "Primary", "Secondary", "Until", "Notes"), lines, title="On call")


def owners_table(row: dict[str, Any]) -> Table:
    """`opsctl whoisoncall --pipeline`: the pipeline's owners and whether each can be paged."""
    lines = [
        [
            f"{role} owner",
            who(owner),
            "yes" if owner["available"] else f"no: {owner['unavailable_because']}",
            "yes" if owner["in_working_hours"] else "no",
        ]
        for role, owner in row["owners"].items()
    ]
    title = f"{row['pipeline_name']} ({row['pipeline']}), tier {row['tier']}"
    return Table(("Role", "Who", "Available", "In working hours"), lines, title=title)


def answer_tables(rows: list[dict[str, Any]]) -> list[Table]:
    """The tables of whoisoncall's rows: per pipeline its owners and its team's on-call."""
    if rows and "pipeline" in rows[0]:
        out = []
        for row in rows:
            out += [owners_table(row), oncall_table(row["oncall"])]
        return out
    return [oncall_table(rows)]


def schedule_table(org: Org, slots: list[Slot]) -> Table:
    """`opsctl schedule`: one line per slot, times in the rotation's zone."""
    from zoneinfo import ZoneInfo

    from opsctl.answers.oncall import person_json

    lines = []
    for slot in slots:
        zone = ZoneInfo(org.rotations[slot.rotation].timezone)
        lines.append(
            [
                slot.rotation,
                f"{slot.start.astimezone(zone):%a %Y-%m-%d %H:%M}",
                f"{slot.end.astimezone(zone):%a %Y-%m-%d %H:%M}",
                who(person_json(org, slot.primary, available=slot.primary_available, reduced=slot.reduced)),
                who(person_json(org, slot.secondary, available=slot.secondary_available, reduced=slot.secondary_reduced)),
                _notes(slot.reduced, slot.brief_reasons),
            ]
        )
    return Table(("Rotation", "From", "To", "Primary", "Secondary", "Notes"), lines, title="Schedule")


def render(tables: Sequence[Table], *, boxed: bool, color: bool, width: int | None) -> str:
    """Tables as a terminal shows them (``boxed``, bold headers with ``color``) or as a pipe
    gets them (plain aligned columns), wrapped to ``width`` (None: no limit for plain
    columns, :data:`BOX_WIDTH` for a box), optional columns left out where the table would
    not fit (:func:`~opsctl.answers.columns.fit`)."""
    if not boxed:
        return render_plain(tables, width)
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    buffer = io.StringIO()
    console_width = width or BOX_WIDTH
    console = Console(file=buffer, width=console_width, force_terminal=color, no_color=not color, highlight=False)
    for number, table in enumerate(tables):
        if number:
            console.print()
        table = fit(table, console_width)
        count = len(table.headers)
        # The full box takes a rule between columns and at both edges and a space each side of
        # a cell; where that would wrap columns narrower than is comfortable to read, or else
        # break words, the edges go, then the rules between columns.
        styles: list[tuple[int, box.Box, bool, tuple[int, int, int, int]]] = [
            (3 * count + 1, box.HEAVY_HEAD, True, (0, 1, 0, 1)),
            (3 * count - 3, box.MINIMAL_HEAVY_HEAD, False, (0, 1, 0, 1)),
            (2 * count - 2, box.SIMPLE_HEAD, False, (0, 1, 0, 0)),
        ]
        least = comfortable(table)
        if least > console_width - styles[-1][0]:
            least = narrowest(table)
        overhead, lines_of, edge, padding = next((s for s in styles if least <= console_width - s[0]), styles[-1])
        widths = layout(table, max(console_width - overhead, count))
        header, rows = cell_lines(table, widths)
        drawn = RichTable(
            title=table.title or None,
            title_justify="left",
            box=lines_of,
            show_edge=edge,
            pad_edge=edge,
            padding=padding,
        )
        for index, (lines, size) in enumerate(zip(header, widths, strict=True)):
            drawn.add_column(
                Text("\n".join(lines)),
                width=size,
                justify="right" if index in table.right else "left",
                no_wrap=True,
                overflow="crop",
            )
        for cells in rows:
            drawn.add_row(*(Text("\n".join(lines)) for lines in cells))
        console.print(drawn)
        for line in left_out_note(table, console_width):
            console.print(Text(line))
    return buffer.getvalue()
