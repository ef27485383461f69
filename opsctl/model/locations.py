"""Where values were written: file, line and column, and the text to quote.

The loader registers every object it builds from YAML in a :class:`SourceMap`, with the
stretch of its file the object was read from; checks ask for the location of an object or
one of its fields to point their findings at. Field locations are worked out only when a
finding asks for them, by reading that stretch again (see :class:`FieldReader`): a
10,000-pipeline org has over a million values, and findings point at a handful.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple


class Location(NamedTuple):
    """A place in a file of the ops repository; line and column count from 1.

    A named tuple: the loader makes one per value, so it must be cheap to create.
    """

    path: str
    """Path relative to the repository root, with `/` separators."""
    line: int = 0
    """0 when only the file is known."""
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class Where:
    """The location of one object and of each of its fields (``members.2`` for items) and keys."""

    at: Location
    fields: dict[str, Location] = field(default_factory=dict)
    keys: dict[str, Location] = field(default_factory=dict)


FieldReader = Callable[[Location, str, int, int], Where | None]
"""Reads the stretch ``[start, end)`` (character offsets) of a file's text again and says
where the fields of the value written there are: ``reader(at, text, start, end)``, ``at``
being where the stretch begins. The loader provides it; None when it cannot tell."""


class SourceMap:
    """Where the objects the loader built were written, and the text of each file read.

    Objects are looked up by identity: the loader's objects live as long as the org.
    """

    def __init__(self) -> None:
        self._spans: dict[int, tuple[Location, int, int]] = {}
        self._keep: list[object] = []
        self._texts: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}
        self._breaks: dict[str, list[int]] = {}
        self._readers: dict[str, FieldReader] = {}
        self._read: dict[int, Where | None] = {}

    def register(self, obj: object, at: Location, start: int, end: int) -> None:
        """``obj`` was read from characters ``[start, end)`` of its file, beginning ``at``."""
        self._spans[id(obj)] = (at, start, end)
        self._keep.append(obj)  # ids stay unique only while the object lives

    def add_text(self, path: str, text: str, reader: FieldReader | None = None) -> None:
        """The text of ``path``, to quote lines; ``reader`` finds field locations in it."""
        self._texts[path] = text
        self._lines.pop(path, None)
        self._breaks.pop(path, None)
        if reader is not None:
            self._readers[path] = reader

    def line_text(self, location: Location) -> str | None:
        lines = self._lines.get(location.path)
        if lines is None:
            text = self._texts.get(location.path)
            if text is None:
                return None
            lines = self._lines[location.path] = text.splitlines()
        if not 0 < location.line <= len(lines):
            return None
        return lines[location.line - 1]

    def extent(self, obj: object) -> tuple[Location, Location] | None:
        """Where ``obj`` starts and where it ends (just past its last character)."""
        span = self._spans.get(id(obj))
        if span is None:
            return None
        at, _, end = span
        breaks = self._breaks.get(at.path)
        if breaks is None:
            text = self._texts.get(at.path, "")
            breaks = self._breaks[at.path] = [match.start() for match in re.finditer("\n", text)]
        line = bisect.bisect_left(breaks, end)
        return at, Location(at.path, line + 1, end - (breaks[line - 1] + 1 if line else 0) + 1)

    def where(self, obj: object) -> Where | None:
        """Where ``obj`` and its fields were written, read again on first use."""
        key = id(obj)
        if key in self._read:
            return self._read[key]
        span = self._spans.get(key)
        if span is None:
            return None
        at, start, end = span
        reader = self._readers.get(at.path)
        found = reader(at, self._texts.get(at.path, ""), start, end) if reader is not None else None
        if found is None:
            found = Where(at)
        self._read[key] = found
        return found

    def of(self, obj: object, *path: str | int) -> Location | None:
        """The location of ``obj``'s field ``path`` (e.g. ``of(team, "members", 2)``).

        Falls back to the field, then to the object itself, when the exact item is unknown.
        """
        span = self._spans.get(id(obj))
        if span is None:
            return None
        if not path:
            return span[0]
        where = self.where(obj)
        assert where is not None
        keys = [".".join(str(p) for p in path[:n]) for n in range(len(path), 0, -1)]
        for key in keys:
            if key in where.fields:
                return where.fields[key]
        return where.at

    def key_of(self, obj: object, name: str) -> Location | None:
        """The location of the key ``name`` in ``obj``'s mapping (for unknown/duplicate keys)."""
        where = self.where(obj)
        if where is None:
            return None
        return where.keys.get(name, where.at)

    def merge(self, other: SourceMap) -> None:
        self._spans.update(other._spans)
        self._keep.extend(other._keep)
        self._texts.update(other._texts)
        self._lines.update(other._lines)
        self._breaks.update(other._breaks)
        self._readers.update(other._readers)
        self._read.update(other._read)
