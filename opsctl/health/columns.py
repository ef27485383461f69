"""Plain aligned columns for terminal tables: a header, rows, two spaces between columns.

Numbers align right. When the lines are wider than ``width``, the free-text columns
(``shrink``) give up characters first, down to :data:`COMFORTABLE` (a cut cell ends in
``…``); then the optional columns leave, highest ``drop`` first, and the table says which
are left out; then the free-text columns shrink down to :data:`NARROWEST`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GAP = "  "
COMFORTABLE = 16
NARROWEST = 8


@dataclass(frozen=True)
class Column:
    title: str
    align: Literal["left", "right"] = "right"
    shrink: bool = False
    """May be cut to fit the width (free text: names, summaries, flags)."""
    drop: int = 0
    """May be left out to fit the width, higher first; 0: always shown."""


def render_columns(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, width: int | None, bold: bool = False) -> str:
    """The table as lines of text, each ending in a newline; ``bold`` sets the header in bold (a terminal)."""
    kept = list(range(len(columns)))
    widths = {i: max([len(columns[i].title), *(len(row[i]) for row in rows)]) for i in kept}
    left_out: list[str] = []
    if width is not None:
        _shrink(columns, kept, widths, width, COMFORTABLE)
        while _excess(kept, widths, width) > 0 and any(columns[i].drop for i in kept):
            gone = max((i for i in kept if columns[i].drop), key=lambda i: columns[i].drop)
            kept.remove(gone)
            left_out.append(columns[gone].title)
        _shrink(columns, kept, widths, width, NARROWEST)
    header = GAP.join(_cell(columns[i].title, widths[i], columns[i].align) for i in kept).rstrip()
    lines = [f"\x1b[1m{header}\x1b[0m" if bold else header]
    for row in rows:
        lines.append(GAP.join(_cell(row[i], widths[i], columns[i].align) for i in kept).rstrip())
    if left_out:
        note = f"(left out to fit {width} columns: {', '.join(left_out)})"
        lines.extend(textwrap.wrap(note, width) if width else [note])
    return "".join(f"{line}\n" for line in lines)


def _excess(kept: list[int], widths: dict[int, int], width: int) -> int:
    return sum(widths[i] for i in kept) + len(GAP) * (len(kept) - 1) - width


def _shrink(columns: Sequence[Column], kept: list[int], widths: dict[int, int], width: int, floor: int) -> None:
    """Narrow the free-text columns, one character at a time from the widest, until the table fits or they reach ``floor``."""
    excess = _excess(kept, widths, width)
    while excess > 0:
        candidates = [i for i in kept if columns[i].shrink and widths[i] > max(floor, len(columns[i].title))]
        if not candidates:
            return
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1


def _cell(text: str, width: int, align: str) -> str:
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.rjust(width) if align == "right" else text.ljust(width)
