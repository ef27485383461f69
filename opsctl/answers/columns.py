"""Tables as text: how wide each column may be, cells wrapped at word boundaries, and plain
aligned columns for pipes.

Every command's table is a :class:`Table`. :func:`render_plain` prints it as aligned
columns without decoration (what a pipe gets); :mod:`opsctl.answers.tables` draws the same
layout in a box on a terminal. Both wrap cells with :func:`wrap` into the widths
:func:`layout` chose, so a cell breaks at the same spaces whichever way it is drawn.

The width (:func:`output_width`) is ``$COLUMNS`` when set, else the terminal's; piped
without ``$COLUMNS`` there is no limit, so each row stays on one line for grep and awk.

A wide table may name optional columns (``Table(optional=...)``): where the table cannot
fit the width with every column at least :data:`COMFORTABLE` characters wide (or as wide as
its longest word), :func:`fit` leaves them out, the highest rank first, and the table says
which below it.

Standard library only, and not even ``typing`` at run time: the whoisoncall answer cache
(:mod:`opsctl.cli.answer_cache`) prints with it before anything else is imported.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs milliseconds the answer cache does not have
if TYPE_CHECKING:
    import re
    from collections.abc import Mapping, Sequence
    from typing import TextIO

GAP = "  "
"""Between two plain columns."""
COMFORTABLE = 16
"""A column may be wrapped down to this width (or to its longest word) before optional columns leave."""

_CHUNK: list[re.Pattern[str]] = []
"""Where a word may break after a hyphen: between letters (``data-eng``, not ``2026-12-07``);
compiled on first use, as most tables never need it."""


class Table:
    """A table to print: ``headers``, ``rows`` of strings, an optional ``title``.

    ``right`` holds the indexes of right-aligned columns (numbers). A plain rendering shows
    the title only when it says more than the command did (``keep_title``) or when several
    tables are printed one after the other. ``optional`` maps the indexes of columns that
    may be left out to fit the width to their rank (the highest leaves first); ``left_out``
    holds the headers :func:`fit` left out.
    """

    __slots__ = ("headers", "keep_title", "left_out", "optional", "right", "rows", "title")

    def __init__(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        title: str = "",
        right: Sequence[int] = (),
        keep_title: bool = False,
        optional: Mapping[int, int] | None = None,
        left_out: Sequence[str] = (),
    ) -> None:
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]
        self.title = title
        self.right = set(right)
        self.keep_title = keep_title
        self.optional = dict(optional or {})
        self.left_out = list(left_out)


def output_width(environ: Mapping[str, str], stream: TextIO) -> int | None:
    """The width to lay text out in: ``$COLUMNS``, else the terminal's, else None (no limit)."""
    text = environ.get("COLUMNS", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if not stream.isatty():
        return None
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def _pieces(word: str) -> list[str]:
    """A word cut after each hyphen between letters: the places a too-long word may break."""
    if "-" not in word:
        return [word]
    if not _CHUNK:
        import re

        _CHUNK.append(re.compile(r"[^\W\d]-(?=[^\W\d])"))
    out, start = [], 0
    for match in _CHUNK[0].finditer(word):
        out.append(word[start : match.end()])
        start = match.end()
    out.append(word[start:])
    return out


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken at spaces; a word longer than a line
    breaks after a hyphen, and only a piece longer than a whole line is cut."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            if len(line) + 1 + len(word) <= width and line:
                line += " " + word
                continue
            if len(word) <= width:
                if line:
                    lines.append(line)
                line = word
                continue
            if line:
                lines.append(line)
            line = ""
            for piece in _pieces(word):
                while len(piece) > width:
                    if line:
                        lines.append(line)
                        line = ""
                    lines.append(piece[:width])
                    piece = piece[width:]
                if len(line) + len(piece) <= width:
                    line += piece
                else:
                    lines.append(line)
                    line = piece
        lines.append(line)
    return lines


def _longest(cells: Sequence[str], split: bool) -> int:
    longest = 0
    for cell in cells:
        for word in cell.split():
            size = max(len(p) for p in _pieces(word)) if split else len(word)
            longest = max(longest, size)
    return longest


def _column(table: Table, index: int) -> list[str]:
    return [table.headers[index], *(row[index] for row in table.rows)]


def _natural(cells: Sequence[str]) -> int:
    """The width of a column with no cell wrapped."""
    return max((len(line) for cell in cells for line in cell.split("\n")), default=0)


def narrowest(table: Table) -> int:
    """The least width of all columns together with every word whole."""
    return sum(_longest(_column(table, i), split=False) for i in range(len(table.headers)))


def _comfortable(table: Table, index: int) -> int:
    cells = _column(table, index)
    return min(_natural(cells), max(_longest(cells, split=False), COMFORTABLE))


def comfortable(table: Table) -> int:
    """The width of all columns together with none wrapped narrower than :data:`COMFORTABLE`
    (or its longest word); a column narrower than that on its own stays whole."""
    return sum(_comfortable(table, i) for i in range(len(table.headers)))


def fit(table: Table, width: int | None) -> Table:
    """``table`` without the optional columns that must leave for it to fit ``width`` (None:
    no limit) with two spaces between columns, each column wrapped no narrower than
    :data:`COMFORTABLE` or its longest word; the highest rank leaves first, and the headers
    left out are in ``left_out``. Without optional columns, or when it fits, ``table`` itself."""
    if width is None or not table.optional:
        return table
    kept = list(range(len(table.headers)))
    sizes = {i: _comfortable(table, i) for i in kept}

    def too_wide() -> bool:
        return sum(sizes[i] for i in kept) + len(GAP) * (len(kept) - 1) > width

    gone: list[int] = []
    while too_wide() and any(i in table.optional for i in kept):
        leaving = max((i for i in kept if i in table.optional), key=lambda i: (table.optional[i], i))
        kept.remove(leaving)
        gone.append(leaving)
    if not gone:
        return table
    return Table(
        [table.headers[i] for i in kept],
        [[row[i] for i in kept] for row in table.rows],
        title=table.title,
        right=[n for n, i in enumerate(kept) if i in table.right],
        keep_title=table.keep_title,
        optional={n: table.optional[i] for n, i in enumerate(kept) if i in table.optional},
        left_out=[*table.left_out, *(table.headers[i] for i in gone)],
    )


def left_out_note(table: Table, width: int | None) -> list[str]:
    """The line(s) under a table that say which columns :func:`fit` left out, or none."""
    if not table.left_out:
        return []
    note = f"(left out to fit {width} columns: {', '.join(table.left_out)})"
    return wrap(note, width) if width else [note]


def layout(table: Table, budget: int | None) -> list[int]:
    """Column widths whose sum fits ``budget`` (None: no limit).

    Columns start as wide as their longest cell. While the sum is too wide the widest column
    gives a character, down to its longest word (so words stay whole), then down to its
    longest piece between hyphens, then as far as it takes: narrowing the widest first
    keeps short columns such as dates on one line.
    """
    columns = [_column(table, i) for i in range(len(table.headers))]
    widths = [_natural(cells) for cells in columns]
    if budget is None or sum(widths) <= budget:
        return widths
    for floors in (
        [_longest(cells, split=False) for cells in columns],
        [_longest(cells, split=True) for cells in columns],
        [1] * len(columns),
    ):
        while sum(widths) > budget:
            candidates = [i for i, w in enumerate(widths) if w > floors[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: (widths[i], -i))
            widths[widest] -= 1
        if sum(widths) <= budget:
            break
    return widths


def cell_lines(table: Table, widths: Sequence[int]) -> tuple[list[list[str]], list[list[list[str]]]]:
    """The header and every row as lines per cell, wrapped to ``widths``."""
    header = [wrap(cell, width) for cell, width in zip(table.headers, widths, strict=True)]
    rows = [[wrap(cell, width) for cell, width in zip(row, widths, strict=True)] for row in table.rows]
    return header, rows


def render_plain(tables: Sequence[Table], width: int | None) -> str:
    """Aligned columns without decoration: upper-case headers, two spaces between columns."""
    out: list[str] = []
    for number, table in enumerate(tables):
        if number:
            out.append("")
        if table.title and (table.keep_title or len(tables) > 1):
            out.extend(wrap(table.title, width) if width else [table.title])
        table = fit(table, width)
        shown = Table([h.upper() for h in table.headers], table.rows, right=sorted(table.right))
        budget = None if width is None else max(width - len(GAP) * (len(table.headers) - 1), len(table.headers))
        widths = layout(shown, budget)
        header, rows = cell_lines(shown, widths)
        for cells in (header, *rows):
            for line_number in range(max(len(c) for c in cells)):
                parts = []
                for index, (lines, size) in enumerate(zip(cells, widths, strict=True)):
                    text = lines[line_number] if line_number < len(lines) else ""
                    parts.append(text.rjust(size) if index in table.right else text.ljust(size))
                out.append(GAP.join(parts).rstrip())
        out.extend(left_out_note(table, width))
    return "\n".join(out) + "\n"
