"""Findings as people and tools read them: text with the offending line and a caret,
JSON, and GitHub Actions annotations."""

from __future__ import annotations

import json
from collections.abc import Iterable

from opsctl.model.findings import Finding
from opsctl.model.locations import SourceMap


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
