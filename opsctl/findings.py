"""Findings: problems found in an ops repository, and how they are printed.

A finding is ``path:line:col: level: message``, followed in text output by the offending
line, a caret under the column, and a hint when one helps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from opsctl.sources import Location, SourceMap

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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in file order, each reported once."""
    return sorted(set(findings), key=Finding.sort_key)


def render_text(findings: Iterable[Finding], sources: SourceMap | None) -> str:
    out: list[str] = []
    for finding in findings:
        out.append(finding.headline())
        loc = finding.location
        text = sources.line_text(loc) if sources is not None and loc is not None else None
        if text is not None and loc is not None:
            expanded = text.replace("\t", " ")
            out.append(f"    {expanded}")
            out.append("    " + " " * max(loc.column - 1, 0) + "^")
        if finding.hint:
            out.append(f"    hint: {finding.hint}")
    return "\n".join(out)


def render_json(findings: Iterable[Finding]) -> str:
    rows = [
        {
            "path": f.location.path if f.location else None,
            "line": f.location.line if f.location and f.location.line else None,
            "column": f.location.column if f.location and f.location.column else None,
            "level": f.level,
            "code": f.code,
            "message": f.message,
            "hint": f.hint or None,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def _escape_github(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def render_github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands, which show as annotations on the pull request."""
    out = []
    for f in findings:
        props = []
        if f.location:
            props.append(f"file={_escape_github(f.location.path, prop=True)}")
            if f.location.line:
                props.append(f"line={f.location.line}")
            if f.location.column:
                props.append(f"col={f.location.column}")
        if f.code:
            props.append(f"title={_escape_github('opsctl ' + f.code, prop=True)}")
        message = f.message + (f" (hint: {f.hint})" if f.hint else "")
        out.append(f"::{f.level} {','.join(props)}::{_escape_github(message)}")
    return "\n".join(out)


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
