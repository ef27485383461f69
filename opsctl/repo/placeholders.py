"""Unfilled placeholders: "[FILL IN]", "TODO" and empty sections, as warnings.

Text markers are found on the raw lines (so comments and block scalars point at the exact
column); empty sections are found on the YAML node tree (a key with no value, ``[]``,
``{}`` or ``""``) and, in Markdown notes, as headings with nothing under them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsctl.model.findings import Finding, warning
from opsctl.model.locations import Location

PLACEHOLDER_WORDS = ("TODO", "TBD", "FIXME")
_MARKER = re.compile(r"\[FILL[ _-]?IN\]|\b(?:" + "|".join(PLACEHOLDER_WORDS) + r")\b")
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""Line breaks other than \\n: the whole-text scan below counts \\n only."""
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def markers_in_text(path: str, text: str) -> Iterator[Finding]:
    """A warning per placeholder marker in ``text``."""
    if _OTHER_BREAKS.search(text):  # lines as str.splitlines() counts them, one by one
        for number, row in enumerate(text.splitlines(), start=1):
            for match in _MARKER.finditer(row):
                yield _marker(path, match.group(0), number, match.start() + 1)
        return
    line, line_start, counted = 1, 0, 0
    for match in _MARKER.finditer(text):
        at = match.start()
        line += text.count("\n", counted, at)
        counted = at
        line_start = text.rfind("\n", 0, at) + 1
        yield _marker(path, match.group(0), line, at - line_start + 1)


def _marker(path: str, marker: str, line: int, column: int) -> Finding:
    return warning(
        f"unfilled placeholder {marker!r}",
        Location(path, line, column),
        hint="replace it with the real content before relying on this file",
        code="placeholder",
    )


def empty_sections(
    path: str, node: Node, *, lists_may_be_empty: bool = False, line_base: int = 0, skip: frozenset[str] = frozenset()
) -> Iterator[Finding]:
    """A warning per key whose value is empty in the YAML tree under ``node``.

    ``lists_may_be_empty``: the document's top-level lists may be ``[]`` (no time off
    planned is not a placeholder). ``line_base`` places a tree composed from a stretch of
    the file; the top-level keys in ``skip`` are not looked at (their values are read apart).
    """
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        kind = current.__class__
        if kind is MappingNode:
            for key, value in current.value:
                if current is node and (key.value in skip or (lists_may_be_empty and value.__class__ is SequenceNode)):
                    if key.value not in skip:
                        stack.append(value)
                    continue
                if _is_empty(value):
                    yield warning(
                        f"empty section {key.value!r}" if key.__class__ is ScalarNode else "empty section",
                        Location(path, key.start_mark.line + 1 + line_base, key.start_mark.column + 1),
                        hint="fill it in or remove the key",
                        code="placeholder",
                    )
                elif value.__class__ is not ScalarNode:
                    stack.append(value)
        elif kind is SequenceNode:
            stack.extend(item for item in current.value if item.__class__ is not ScalarNode)


def _is_empty(node: Node) -> bool:
    if node.__class__ is ScalarNode:
        return node.tag == "tag:yaml.org,2002:null" or (node.tag == "tag:yaml.org,2002:str" and not node.value.strip())
    return not node.value


def markdown_empty_sections(path: str, text: str) -> Iterator[Finding]:
    """A warning per Markdown heading with no content before the next heading of its level or above."""
    lines = text.splitlines()
    headings = []
    in_fence = False
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            headings.append((number, len(match.group(1)), match.group(2)))
    for i, (number, level, title) in enumerate(headings):
        following = headings[i + 1] if i + 1 < len(headings) else None
        end = following[0] if following else len(lines) + 1
        has_body = any(line.strip() for line in lines[number : end - 1])
        has_subsection = following is not None and following[1] > level
        if not has_body and not has_subsection:
            yield warning(
                f"empty section {title!r}",
                Location(path, number, 1),
                hint="write the section or remove the heading",
                code="placeholder",
            )
