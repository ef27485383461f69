"""Render the site's pages with Jinja2: Markdown for the repository, HTML for a browser.

Templates are named ``<kind>.<format>.j2`` (``index``, ``pipeline``, ``service``; each
extends ``base.<format>.j2``) and the HTML site adds the files under ``assets/``. They
come in as :class:`~opsctl.runbooks.inputs.TemplateSource` values, already read, so
rendering touches no file. Undefined names are errors (``StrictUndefined``): a template
that names a field the org does not have fails with its file and line, never renders a
blank. Every template error becomes a :class:`~opsctl.errors.TemplateError`.

Each template sees ``site`` (:class:`~opsctl.runbooks.pages.Site`), ``page`` (the page,
or the site for the index), ``fmt``, ``url(stem)`` (a link from this page to another page
or asset), ``root`` (the prefix from this page to the top of the site) and
``note(notes)`` (the team's notes fitted into the page), and the filters ``duration``,
``when``, ``category``, ``md`` (Markdown-escaped inline text) and ``md_url``.

This module imports jinja2; it is imported only when runbooks are rendered or checked.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

import jinja2
from markupsafe import Markup

from opsctl.errors import TemplateError
from opsctl.model.locations import Location
from opsctl.model.spelling import format_duration
from opsctl.runbooks import notes as notes_md
from opsctl.runbooks.inputs import TemplateSource
from opsctl.runbooks.pages import INDEX, Note, Site

FORMATS = ("md", "html")
PAGE_KINDS = ("index", "pipeline", "service", "health")
ASSETS = ("assets/site.css", "assets/site.js")
"""Files copied into the HTML site as they are (overridable like templates)."""
SEARCH_INDEX = "assets/search-index.js"
"""The list of pages the search box filters, written as a script so it works from file:// too."""


def template_name(kind: str, fmt: str) -> str:
    return f"{kind}.{fmt}.j2"


def output_path(stem: str, fmt: str) -> str:
    """Where a page goes in the output folder. The Markdown index is README.md, which git hosts show for the folder."""
    if stem == INDEX:
        return "README.md" if fmt == "md" else "index.html"
    if stem.startswith("assets/"):
        return stem
    return f"{stem}.{fmt}"


def relative_url(here: str, target: str) -> str:
    """A link from output file ``here`` to output file ``target``, relative so the site works from any folder.

    Plain string work on the two paths (``posixpath.relpath`` asks the OS for the current
    directory on every call, and pages have dozens of links).
    """
    folder = here.split("/")[:-1]
    parts = target.split("/")
    common = 0
    while common < len(folder) and common < len(parts) - 1 and folder[common] == parts[common]:
        common += 1
    return "/".join([".."] * (len(folder) - common) + parts[common:])


class _Loader(jinja2.BaseLoader):
    def __init__(self, templates: Mapping[str, TemplateSource]) -> None:
        self.templates = templates

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        found = self.templates.get(template)
        if found is None:
            raise jinja2.TemplateNotFound(template)
        return found.text, found.path, lambda: True


def environment(
    templates: Mapping[str, TemplateSource], fmt: str, bytecode_cache: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    """The Jinja2 environment of one output format: HTML autoescapes, Markdown escapes with ``md``.

    ``bytecode_cache`` keeps compiled templates between runs (see
    :func:`opsctl.runbooks.inputs.bytecode_cache`); without it every run compiles them.
    """
    env = jinja2.Environment(
        loader=_Loader(templates),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates come from memory and never change during a render
        bytecode_cache=bytecode_cache,
    )
    env.filters.update(duration=_duration, when=_when, category=_category, md=md_inline, md_url=_md_url)
    return env


class Renderer:
    """Renders the pages of one site in one format; templates are compiled once."""

    def __init__(
        self,
        site: Site,
        fmt: str,
        templates: Mapping[str, TemplateSource],
        env: jinja2.Environment | None = None,
        *,
        markdown_notes: bool = True,
    ) -> None:
        self.site = site
        self.fmt = fmt
        self.templates = templates
        self.env = env if env is not None else environment(templates, fmt)
        self.markdown_notes = markdown_notes
        """False: a note goes into its page as written, unparsed (enough to check templates,
        which see a note only as a finished string, without loading the Markdown parser)."""

    def url(self, here: str, stem: str) -> str:
        return relative_url(output_path(here, self.fmt), output_path(stem, self.fmt))

    def root(self, here: str) -> str:
        """The prefix that leads from page ``here`` to the top of the site: ``""`` or ``"../"``."""
        return "../" * output_path(here, self.fmt).count("/")

    def note(self, here: str, note: Note | None) -> str:
        if note is None:
            return ""
        if not self.markdown_notes:
            return note.text
        text = notes_md.relink(notes_md.fit(note.text), note.path, self.site.note_pages, lambda stem: self.url(here, stem))
        if self.fmt == "html":
            return Markup(notes_md.to_html(text))
        return text

    def page(self, kind: str, stem: str, page: object) -> str:
        """The text of one page; :class:`TemplateError` with the template's file and line when the template fails."""
        name = template_name(kind, self.fmt)
        doing = f"rendering {output_path(stem, self.fmt)}"
        try:
            template = self.env.get_template(name)
            return template.render(
                site=self.site,
                page=page,
                fmt=self.fmt,
                root=self.root(stem),
                url=lambda target: self.url(stem, target),
                note=lambda note: self.note(stem, note),
            )
        except Exception as exc:
            raise located(exc, self.templates, doing) from None


def syntax_errors(envs: Mapping[str, jinja2.Environment], names: Iterable[str]) -> list[TemplateError]:
    """A :class:`TemplateError` for each of the templates ``names`` that does not parse.

    Each is compiled in the environment of its format (``envs``: format → environment),
    which keeps it compiled for rendering.
    """
    found = []
    for name in names:
        env = envs["md" if name.endswith(".md.j2") else "html"]
        try:
            env.get_template(name)
        except Exception as exc:
            assert isinstance(env.loader, _Loader)
            found.append(located(exc, env.loader.templates, f"parsing {name}"))
    return found


def render_site(
    site: Site, fmt: str, templates: Mapping[str, TemplateSource], *, bytecode_cache: jinja2.BytecodeCache | None = None
) -> dict[str, str]:
    """Every file of the site: output path → text."""
    renderer = Renderer(site, fmt, templates, environment(templates, fmt, bytecode_cache))
    files = {output_path(INDEX, fmt): renderer.page("index", INDEX, site)}
    for pipeline in site.pipelines:
        files[output_path(pipeline.stem, fmt)] = renderer.page("pipeline", pipeline.stem, pipeline)
    for service in site.services:
        files[output_path(service.stem, fmt)] = renderer.page("service", service.stem, service)
    if site.health is not None:
        files[output_path(site.health.stem, fmt)] = renderer.page("health", site.health.stem, site.health)
    if fmt == "html":
        for asset in ASSETS:
            files[asset] = templates[asset].text
        files[SEARCH_INDEX] = search_index(site)
    return files


def search_index(site: Site) -> str:
    """A script that sets ``window.OPSCTL_PAGES``: title, link, team and owners of every page."""
    entries = [
        {
            "title": link.title,
            "url": output_path(link.stem, "html"),
            "kind": link.kind,
            "team": link.team_name,
            "owners": list(link.owners),
            "detail": link.detail,
        }
        for link in site.links
    ]
    payload = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    # inside a script, "</script>" in a title would end it: escape what HTML could read as markup
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"// Written by `opsctl runbooks render`: the pages the search box finds.\nwindow.OPSCTL_PAGES = {payload};\n"


# --- errors ----------------------------------------------------------------------------

_UNDEFINED_NAME = re.compile(r"has no attribute '([^']+)'|'([^']+)' is undefined")


def located(exc: BaseException, templates: Mapping[str, TemplateSource], doing: str) -> TemplateError:
    """``exc``, raised while parsing or rendering, as a :class:`TemplateError` at its template's line.

    Jinja2 rewrites tracebacks so that template code shows as frames of the template file,
    at the template's line: the innermost such frame is where the template failed.
    Anything raised outside template code is a bug of opsctl and is raised as it is.
    """
    by_path = {source.path: source for source in templates.values()}
    if isinstance(exc, jinja2.TemplateSyntaxError):
        source = by_path.get(exc.filename or "")
        path = source.path if source else (exc.filename or exc.name or "?")
        return TemplateError(f"template syntax: {exc.message}", Location(path, exc.lineno, 1))
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename in by_path]
    if not frames:
        raise exc
    frame = frames[-1]
    line = frame.lineno or 1
    message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    if isinstance(exc, jinja2.TemplateNotFound):
        message = f"no template named {exc.name!r}"
    elif not isinstance(exc, jinja2.TemplateError):
        message = f"{type(exc).__name__}: {message}"
    column = _column(by_path[frame.filename].text, line, message)
    return TemplateError(f"{message} ({doing})", Location(frame.filename, line, column))


def _column(text: str, line: int, message: str) -> int:
    """The column of the undefined name in the failing line, when the message names one; else 1."""
    lines = text.splitlines()
    match = _UNDEFINED_NAME.search(message)
    if match is None or not 0 < line <= len(lines):
        return 1
    name = match.group(1) or match.group(2)
    found = re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", lines[line - 1])
    return found.start() + 1 if found else 1


_REFERENCE = re.compile(r"""{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)["']""")


def referenced(templates: Iterable[TemplateSource]) -> set[str]:
    """Names of the templates that ``templates`` extend, include or import by a literal name.

    A regular expression rather than Jinja2's parser: this only decides which files are
    used, and parsing every template again costs more than the check is worth.
    """
    return {name for source in templates for name in _REFERENCE.findall(source.text)}


# --- filters ---------------------------------------------------------------------------


def _duration(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else ""


def _when(value: datetime | None) -> str:
    """``Mon 30 Nov 2026 09:00 CET``: a time as people read it, in the zone it carries."""
    if value is None:
        return ""
    return f"{value:%a %d %b %Y %H:%M} {value.tzname() or ''}".rstrip()


def _category(value: str) -> str:
    return value.replace("-", " ")


_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"^(?:[#+*-]|\d+[.)])(?=\s|$)")


def md_inline(value: object) -> str:
    """``value`` as one line of Markdown that shows exactly the text (YAML values are plain text, not Markdown).

    Whitespace runs become one space, so a value fits in a table cell or a list item;
    characters Markdown would read as markup are escaped; intraword underscores stay, so
    ids such as ``unit_profit_experiments`` read as they are.
    """
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    start = _MD_LINE_START.match(text)
    if start:
        marker = start.group(0)
        text = (marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker) + text[len(marker) :]
    return text


def _md_url(value: str) -> str:
    return f"<{value}>" if re.search(r"[\s()<>]", value) else value
