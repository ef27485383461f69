"""What reading a stretch of YAML produced, kept between runs by the text it was read from.

Composing YAML is most of the time of loading a large org (some 3 s for a 12 MB
ownership.yaml), and an edit changes a few lines of it. The loader reads a long list a
batch of items at a time and each other file whole; a :class:`ParseCache` keeps, for each
such piece, its values, findings, placeholders and the places of its objects, keyed by a
digest of the piece's text, its file, how it was read and the version of opsctl's code.
A piece whose text is unchanged is taken from the cache; any other is read again. A piece
that holds findings is taken only at the same line it was read at (messages may name a
line, e.g. "first at line 7").

The cache holds no I/O: the caller reads its stored bytes and writes :meth:`ParseCache.dump`.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field, replace
from typing import Any

from opsctl.model.findings import Finding
from opsctl.model.locations import Location

FORMAT_VERSION = 1


@dataclass
class Piece:
    """What reading one piece produced; lines and character offsets are from the piece's start."""

    value: Any
    line: int
    """The line (from 0) the piece started at when it was read."""
    findings: list[Finding] = field(default_factory=list)
    placeholders: list[Finding] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    registered: list[tuple[object, int, int, int, int]] = field(default_factory=list)
    """(object, line, column, start, end) of each object built."""


def shifted(findings: list[Finding], path: str, lines: int) -> list[Finding]:
    """``findings`` with the lines of those in ``path`` moved by ``lines``."""
    out = []
    for finding in findings:
        where = finding.location
        if where is not None and where.path == path and where.line:
            finding = replace(finding, location=Location(path, where.line + lines, where.column))
        out.append(finding)
    return out


class ParseCache:
    """Pieces by key: those of the last run (``stored``), and those this run used or read."""

    def __init__(self, stored: bytes | None, version: str) -> None:
        self.version = version
        self._old: dict[bytes, bytes] = {}
        if stored:
            try:
                data = pickle.loads(stored)
                if isinstance(data, dict) and data.get("version") == (FORMAT_VERSION, version):
                    self._old = data["pieces"]
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
                self._old = {}
        self._used: dict[bytes, bytes] = {}
        self.read = 0
        """Pieces read this run (not found in the cache)."""

    def key(self, path: str, how: str, text: str) -> bytes:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{path}\0{how}\0".encode())
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def get(self, key: bytes, line: int) -> Piece | None:
        raw = self._old.get(key)
        if raw is None:
            return None
        try:
            piece = pickle.loads(raw)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None
        if not isinstance(piece, Piece) or ((piece.findings or piece.broken) and piece.line != line):
            return None
        self._used[key] = raw
        return piece

    def put(self, key: bytes, piece: Piece) -> None:
        self._used[key] = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
        self.read += 1

    def dump(self) -> bytes | None:
        """The bytes to store for the next run, or None when nothing changed."""
        if not self.read and len(self._used) == len(self._old):
            return None
        return pickle.dumps({"version": (FORMAT_VERSION, self.version), "pieces": self._used}, protocol=pickle.HIGHEST_PROTOCOL)
