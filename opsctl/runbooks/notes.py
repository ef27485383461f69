"""Team-written Markdown notes, fitted into a page.

A note is a document of its own, titled by its first ``#`` heading; inside a page it is a
section under the template's own heading. So its title goes (the page already names the
pipeline or service) and every other heading moves one level down. Relative links to
other notes are pointed at the rendered pages of those notes, in the output format.

Raw HTML in a note is shown as text, not passed through: notes are reviewed as prose, and
a stray ``<script>`` must not reach the site.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_LINK = re.compile(r"(\]\()(?!<)([^)\s]+)")
"""An inline link's destination: ``](target`` (destinations in angle brackets are left alone)."""
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def fit(text: str) -> str:
    """``text`` without its leading ``#`` title, every other heading one level down (``######`` stays)."""
    lines = text.splitlines()
    tokens = _markdown().parse(text)
    drop: set[int] = set()
    first_block = next((t for t in tokens if t.map is not None and t.nesting >= 0), None)
    for token in tokens:
        if token.type != "heading_open" or token.map is None:
            continue
        start, end = token.map
        level = int(token.tag[1])
        if token is first_block and level == 1:
            drop.update(range(start, end))
            continue
        if token.markup in ("=", "-"):  # a setext heading: its text lines, then the underline
            words = " ".join(line.strip() for line in lines[start : end - 1])
            lines[start] = "#" * min(level + 1, 6) + " " + words
            drop.update(range(start + 1, end))
        elif level < 6:
            indent = len(lines[start]) - len(lines[start].lstrip())
            lines[start] = lines[start][:indent] + "#" + lines[start][indent:]
    kept = [line for number, line in enumerate(lines) if number not in drop]
    return "\n".join(kept).strip("\n") + "\n"


def relink(text: str, note_path: str, note_pages: Mapping[str, str], url: Callable[[str], str]) -> str:
    """Point relative links that reach another note at that note's rendered page.

    ``note_pages`` maps notes paths to page stems; ``url`` turns a stem into a link from
    the page being rendered. Other links, and anything inside code fences, stay as written.
    """
    folder = posixpath.dirname(note_path)

    def replace(match: re.Match[str]) -> str:
        target = match.group(2)
        if target.startswith(("#", "/")) or _SCHEME.match(target):
            return match.group(0)
        path, hash_mark, fragment = target.partition("#")
        stem = note_pages.get(posixpath.normpath(posixpath.join(folder, path)))
        if stem is None:
            return match.group(0)
        return match.group(1) + url(stem) + hash_mark + fragment

    out = []
    in_fence = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        out.append(line if in_fence else _LINK.sub(replace, line))
    return "".join(out)


def to_html(text: str) -> str:
    """CommonMark (with tables) to HTML; raw HTML is escaped, bare web addresses become links."""
    md = _markdown()
    tokens = md.parse(text)
    for block in tokens:
        if block.type == "inline" and block.children:
            block.children = _autolinked(block.children)
    html: str = md.renderer.render(tokens, md.options, {})
    return html


_URL = re.compile(r"https?://[^\s<>()\[\]]*[^\s<>()\[\].,;:!?'\"]")
"""A bare web address, without the punctuation that ends a sentence."""


def _autolinked(children: list[Token]) -> list[Token]:
    """Inline tokens with each bare web address in plain text made a link, as git hosts show them."""
    from markdown_it.token import Token

    out: list[Token] = []
    in_link = 0
    for token in children:
        in_link += {"link_open": 1, "link_close": -1}.get(token.type, 0)
        if token.type != "text" or in_link or not _URL.search(token.content):
            out.append(token)
            continue
        position = 0
        for match in _URL.finditer(token.content):
            if match.start() > position:
                out.append(Token("text", "", 0, content=token.content[position : match.start()]))
            out.append(Token("link_open", "a", 1, attrs={"href": match.group(0)}))
            out.append(Token("text", "", 0, content=match.group(0)))
            out.append(Token("link_close", "a", -1))
            position = match.end()
        if position < len(token.content):
            out.append(Token("text", "", 0, content=token.content[position:]))
    return out
