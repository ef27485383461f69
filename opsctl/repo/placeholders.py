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
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def markers_in_text(path: str, text: str) -> Iterator[Finding]:
    """A warning per placeholder marker in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _MARKER.finditer(line):
            yield warning(
                f"unfilled placeholder {match.group(0)!r}",
                Location(path, number, match.start() + 1),
                hint="replace it with the real content before relying on this file",
                code="placeholder",
            )


def empty_sections(path: str, node: Node, *, lists_may_be_empty: bool = False) -> Iterator[Finding]:
    """A warning per key whose value is empty in the YAML tree under ``node``.

    ``lists_may_be_empty``: the document's top-level lists may be ``[]`` (no time off
    planned is not a placeholder).
    """
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            for key, value in current.value:
                if lists_may_be_empty and current is node and isinstance(value, SequenceNode):
                    stack.append(value)
                    continue
                if _is_empty(value):
                    yield warning(
                        f"empty section {key.value!r}" if isinstance(key, ScalarNode) else "empty section",
                        Location(path, key.start_mark.line + 1, key.start_mark.column + 1),
                        hint="fill it in or remove the key",
                        code="placeholder",
                    )
                else:
                    stack.append(value)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def _is_empty(node: Node) -> bool:
    if isinstance(node, ScalarNode):
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
