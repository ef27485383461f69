"""Plain aligned columns for terminal tables: a header, rows, two spaces between columns.

Numbers align right. When the lines are wider than ``width``, the columns marked
``shrink`` give up characters, widest first, and their cut cells end in ``…``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GAP = "  "
MIN_SHRUNK = 8


@dataclass(frozen=True)
class Column:
    title: str
    align: Literal["left", "right"] = "right"
    shrink: bool = False
    """May be cut to fit the width (free text: names, summaries, flags)."""


def render_columns(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, width: int | None, bold: bool = False) -> str:
    """The table as lines of text, each ending in a newline; ``bold`` sets the header in bold (a terminal)."""
    widths = [max([len(column.title), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)]
    if width is not None:
        _fit(columns, widths, width)
    header = GAP.join(_cell(c.title, w, c.align) for c, w in zip(columns, widths, strict=True)).rstrip()
    lines = [f"\x1b[1m{header}\x1b[0m" if bold else header]
    for row in rows:
        lines.append(GAP.join(_cell(text, w, c.align) for c, w, text in zip(columns, widths, row, strict=True)).rstrip())
    return "".join(f"{line}\n" for line in lines)


def _fit(columns: Sequence[Column], widths: list[int], width: int) -> None:
    """Narrow the shrinkable columns, one character at a time from the widest, until the table fits."""
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while excess > 0:
        candidates = [i for i, c in enumerate(columns) if c.shrink and widths[i] > max(MIN_SHRUNK, len(c.title))]
        if not candidates:
            return
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1


def _cell(text: str, width: int, align: str) -> str:
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.rjust(width) if align == "right" else text.ljust(width)
