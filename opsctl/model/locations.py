"""Where values were written: file, line and column, and the text to quote.

The loader registers every object it builds from YAML in a :class:`SourceMap`; checks
ask it for the location of an object or one of its fields to point their findings at.
"""

from __future__ import annotations

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
    """The location of one object and of each of its fields (``members.2`` for items)."""

    at: Location
    fields: dict[str, Location] = field(default_factory=dict)
    keys: dict[str, Location] = field(default_factory=dict)


class SourceMap:
    """Locations of the objects the loader built, and the text of each file read.

    Objects are looked up by identity: the loader's objects live as long as the org.
    """

    def __init__(self) -> None:
        self._where: dict[int, Where] = {}
        self._keep: list[object] = []
        self._lines: dict[str, list[str]] = {}

    def register(self, obj: object, where: Where) -> None:
        self._where[id(obj)] = where
        self._keep.append(obj)  # ids stay unique only while the object lives

    def add_text(self, path: str, text: str) -> None:
        self._lines[path] = text.splitlines()

    def line_text(self, location: Location) -> str | None:
        lines = self._lines.get(location.path)
        if lines is None or not 0 < location.line <= len(lines):
            return None
        return lines[location.line - 1]

    def where(self, obj: object) -> Where | None:
        return self._where.get(id(obj))

    def of(self, obj: object, *path: str | int) -> Location | None:
        """The location of ``obj``'s field ``path`` (e.g. ``of(team, "members", 2)``).

        Falls back to the field, then to the object itself, when the exact item is unknown.
        """
        where = self._where.get(id(obj))
        if where is None:
            return None
        keys = [".".join(str(p) for p in path[:n]) for n in range(len(path), 0, -1)]
        for key in keys:
            if key in where.fields:
                return where.fields[key]
        return where.at

    def key_of(self, obj: object, name: str) -> Location | None:
        """The location of the key ``name`` in ``obj``'s mapping (for unknown/duplicate keys)."""
        where = self._where.get(id(obj))
        if where is None:
            return None
        return where.keys.get(name, where.at)

    def merge(self, other: SourceMap) -> None:
        self._where.update(other._where)
        self._keep.extend(other._keep)
        self._lines.update(other._lines)
