"""Findings: problems found in an ops repository, as values.

A finding is ``path:line:col: level: message`` with a hint when one helps;
:mod:`opsctl.cli.findings` prints them (text with the offending line and a caret, JSON,
GitHub annotations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from opsctl.model.locations import Location

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem, where it is and what to do about it."""

    level: Level
    message: str
    location: Location | None = None
    hint: str = ""
    code: str = ""
    """A stable short name of the check, e.g. `unknown-reference`."""

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location or Location("")
        return (loc.path, loc.line, loc.column, self.message)

    def headline(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.level}: {self.message}"


def error(message: str, location: Location | None = None, *, hint: str = "", code: str = "") -> Finding:
    return Finding("error", message, location, hint, code)


def warning(message: str, location: Location | None = None, *, hint: str = "", code: str = "") -> Finding:
    return Finding("warning", message, location, hint, code)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in file order, each reported once."""
    return sorted(set(findings), key=Finding.sort_key)


def summary(findings: list[Finding]) -> str:
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    if not findings:
        return "no problems found"
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)
