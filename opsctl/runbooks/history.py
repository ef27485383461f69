"""When each page last changed, from git.

A pipeline page shows what its entry in ``ownership.yaml`` and its notes say, so it last
changed when the last of those lines or that file did: ``git blame`` dates each line of a
YAML file (one call per file), ``git log`` the notes files (one call for all). A service
page counts its entry in the catalog, the catalog's team-wide parts (summary, intake,
escalation) and its runbook notes. Lines not committed yet do not count; without git, or
outside a git work tree, there are no dates and the pages say nothing about them.

:func:`page_spans` (which lines make each page) and :func:`combine` are pure;
:func:`last_changed` runs git.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsctl.errors import GitError
from opsctl.model.locations import Location
from opsctl.repo.git import is_repository, run_git
from opsctl.repo.loader import OWNERSHIP, LoadResult
from opsctl.runbooks.pages import note_paths, pipeline_stem, service_stem

_UNCOMMITTED = "0" * 40


@dataclass(frozen=True)
class Span:
    """Lines ``first`` to ``last`` (from 1, both included) of a file; the whole file when ``first`` is 0."""

    path: str
    first: int = 0
    last: int = 0


def page_spans(result: LoadResult) -> dict[str, list[Span]]:
    """Page stem → the places its content is written: YAML lines and notes files."""
    spans: dict[str, list[Span]] = {stem: [Span(path)] for stem, path in note_paths(result.org).items()}
    sources = result.org.sources
    for pipeline in result.org.pipelines.values():  # where the loader read each (ownership.yaml is not composed again)
        extent = sources.extent(pipeline)
        if extent is not None and extent[0].path == OWNERSHIP:
            spans.setdefault(pipeline_stem(pipeline.id), []).append(_span_of(*extent))
    for path in sorted(_catalog_paths(result)):
        node = result.documents[path]
        shared = [_span(path, value) for key, value in _pairs(node) if key != "services"]
        for service_id, span in _items(path, node, "services"):
            spans.setdefault(service_stem(service_id), []).extend([span, *shared])
    return spans


def _catalog_paths(result: LoadResult) -> set[str]:
    return {path for path in result.documents if path.startswith("service_catalog/")}


def _pairs(node: Node) -> list[tuple[str, Node]]:
    if not isinstance(node, MappingNode):
        return []
    return [(key.value, value) for key, value in node.value if isinstance(key, ScalarNode)]


def _items(path: str, node: Node, key: str) -> list[tuple[str, Span]]:
    """(id, lines) of each item of the list under ``key``."""
    found = []
    for name, value in _pairs(node):
        if name != key or not isinstance(value, SequenceNode):
            continue
        for item in value.value:
            item_id = dict(_pairs(item)).get("id")
            if isinstance(item_id, ScalarNode):
                found.append((item_id.value, _span(path, item)))
    return found


def _span(path: str, node: Node) -> Span:
    # end_mark is just past the node: at column 0 of the next line when the node ends a line
    last = node.end_mark.line + (1 if node.end_mark.column else 0)
    return Span(path, node.start_mark.line + 1, max(last, node.start_mark.line + 1))


def _span_of(start: Location, end: Location) -> Span:
    """:func:`_span` from the places (line and column from 1) where a value starts and just ends."""
    last = end.line - 1 + (1 if end.column > 1 else 0)
    return Span(start.path, start.line, max(last, start.line))


def combine(
    spans: Mapping[str, Sequence[Span]], blamed: Mapping[str, Sequence[date | None]], latest: Mapping[str, date]
) -> dict[str, date]:
    """Page stem → the newest date among its lines (``blamed``: a date per line of a file) and files (``latest``)."""
    out: dict[str, date] = {}
    for stem, places in spans.items():
        dates: list[date] = []
        for span in places:
            if span.first:
                dates.extend(d for d in blamed.get(span.path, ())[span.first - 1 : span.last] if d is not None)
            elif span.path in latest:
                dates.append(latest[span.path])
        if dates:
            out[stem] = max(dates)
    return out


def last_changed(root: Path, spans: Mapping[str, Sequence[Span]]) -> dict[str, date]:
    """Page stem → the date of the last commit that changed it; empty without git."""
    if not is_repository(root):
        return {}
    line_files = sorted({span.path for places in spans.values() for span in places if span.first})
    whole_files = sorted({span.path for places in spans.values() for span in places if not span.first})
    blamed = {}
    for path in line_files:
        output = _git_text(root, "blame", "--porcelain", "--", path)
        if output is not None:
            blamed[path] = parse_blame(output)
    latest = parse_log(_git_text(root, "log", "--format=%x00%cs", "--name-only", "--relative", "--", *whole_files) or "")
    return combine(spans, blamed, latest)


def parse_blame(output: str) -> list[date | None]:
    """The committer date of each line from ``git blame --porcelain``; None for lines not committed yet."""
    times: dict[str, tuple[int, str]] = {}
    pending: dict[str, dict[str, str]] = {}
    lines: list[str] = []
    current = ""
    for row in output.splitlines():
        if row.startswith("\t"):
            lines.append(current)
            continue
        head, _, rest = row.partition(" ")
        if len(head) == 40 and rest[:1].isdigit():
            current = head
        elif head in ("committer-time", "committer-tz"):
            pending.setdefault(current, {})[head] = rest
    for sha, headers in pending.items():
        if "committer-time" in headers:
            times[sha] = (int(headers["committer-time"]), headers.get("committer-tz", "+0000"))
    return [None if sha == _UNCOMMITTED or sha not in times else _date(*times[sha]) for sha in lines]


def _date(seconds: int, tz: str) -> date:
    sign = -1 if tz.startswith("-") else 1
    offset = timedelta(hours=int(tz[1:3] or 0), minutes=int(tz[3:5] or 0)) * sign
    return datetime.fromtimestamp(seconds, UTC).astimezone(timezone(offset)).date()


def parse_log(output: str) -> dict[str, date]:
    """Path → date of its newest commit, from ``git log --format=%x00%cs --name-only`` (newest first)."""
    latest: dict[str, date] = {}
    for chunk in output.split("\x00")[1:]:
        rows = [row for row in chunk.splitlines() if row.strip()]
        if not rows:
            continue
        day = date.fromisoformat(rows[0])
        for path in rows[1:]:
            latest.setdefault(path, day)
    return latest


def _git_text(root: Path, *args: str) -> str | None:
    """Standard output of a git command run in ``root``, or None when it fails (an untracked file, say)."""
    try:
        return run_git(root, *args).decode("utf-8", errors="replace")
    except GitError:
        return None
