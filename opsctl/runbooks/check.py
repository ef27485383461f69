"""What ``opsctl validate`` checks in ``runbooks/`` beyond placeholders.

- Notes of a pipeline that does not exist (``runbooks/pipelines/<id>.md``): a renamed
  pipeline loses its notes without a word otherwise. A warning.
- The repository's own templates (``runbooks/templates/``): each must parse, and the
  index, one pipeline and one service page (one with notes and one without, where there
  are both) are rendered in both formats, so a name the pages do not have is an error at
  its template line before anybody runs ``opsctl runbooks render``. A template that no page
  uses (a misspelt override, say) is a warning. Without templates of its own a repository
  uses the package's, which the test suite renders, and jinja2 is not even imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath

from opsctl.engine.holidays import HolidayCalendar
from opsctl.errors import RepoError, TemplateError
from opsctl.model.findings import Finding, error, warning
from opsctl.model.locations import Location
from opsctl.model.spelling import did_you_mean
from opsctl.repo.loader import OWNERSHIP, LoadResult, RepoFiles
from opsctl.runbooks.inputs import TEMPLATES_DIR, bytecode_cache, read_notes, read_templates, repo_templates
from opsctl.runbooks.pages import INDEX, PIPELINE_NOTES, PipelinePage, ServicePage, build_site

_SYNTAX_HINT = "Jinja2 writes values as {{ page.title }} and statements as {% if … %}…{% endif %}"
_FIELD_HINT = (
    "templates see `site` and `page`; page fields are in opsctl/runbooks/pages.py, "
    "and page.pipeline and page.service are as written in the YAML (`opsctl schema`)"
)


def check_runbooks(result: LoadResult, *, now: datetime, holidays: HolidayCalendar, cache: Path | None = None) -> list[Finding]:
    files = result.files
    if files is None:
        return []
    findings = list(_notes_without_pipeline(result, files))
    if repo_templates(files):
        findings.extend(_check_templates(result, files, now=now, holidays=holidays, cache=cache))
    return findings


def _notes_without_pipeline(result: LoadResult, files: RepoFiles) -> Iterator[Finding]:
    if OWNERSHIP in result.unreadable:
        return  # without the pipelines every note would be reported: the error says what is wrong
    pipelines = result.org.pipelines
    for path in files.list_files(PIPELINE_NOTES, (".md",)):
        pipeline_id = PurePosixPath(path).stem
        if pipeline_id not in pipelines and pipeline_id not in result.broken:
            yield warning(
                f"notes of unknown pipeline {pipeline_id!r}{did_you_mean(pipeline_id, pipelines)}",
                Location(path, 1, 1),
                hint=f"name the file after a pipeline id ({PIPELINE_NOTES}/<pipeline-id>.md), or delete it",
                code="orphan-notes",
            )


def _check_templates(
    result: LoadResult, files: RepoFiles, *, now: datetime, holidays: HolidayCalendar, cache: Path | None
) -> list[Finding]:
    from opsctl.runbooks.render import (
        ASSETS,
        FORMATS,
        PAGE_KINDS,
        Renderer,
        environment,
        referenced,
        syntax_errors,
        template_name,
    )

    try:
        templates = read_templates(files)
    except RepoError as exc:
        return list(exc.findings)
    own = {name: source for name, source in templates.items() if source.path.startswith(TEMPLATES_DIR + "/")}
    for source in own.values():
        result.org.sources.add_text(source.path, source.text)  # so findings can quote the line

    findings: list[Finding] = []
    used = {template_name(kind, fmt) for kind in (*PAGE_KINDS, "base") for fmt in FORMATS} | set(ASSETS)
    used |= referenced(templates.values())
    for name, source in own.items():
        if name not in used:
            pages = sorted(n for n in used if n.endswith(".j2"))
            findings.append(
                warning(
                    f"template {name!r} is not used by any page{did_you_mean(name, pages)}",
                    Location(source.path, 1, 1),
                    hint=f"a file in {TEMPLATES_DIR}/ replaces the package's template of the same name: " + ", ".join(pages),
                    code="unused-template",
                )
            )

    envs = {fmt: environment(templates, fmt, bytecode_cache(fmt, cache)) for fmt in FORMATS}
    broken = syntax_errors(envs, [name for name in own if name.endswith(".j2")])
    findings.extend(_finding(exc) for exc in broken)
    if not result.ok:
        return findings  # the pages need an org without errors, and those are reported already

    from opsctl.engine.schedule.resolve import Engine

    org = result.org
    site = build_site(org, Engine(org, holidays), now, notes=read_notes(files, org), changed={})
    samples = [("index", INDEX, site), *_samples("pipeline", site.pipelines), *_samples("service", site.services)]
    failed_at: set[Location | None] = set()
    unparsed = {exc.location.path for exc in broken if exc.location is not None}
    for fmt in FORMATS:
        if any(source.path in unparsed for source in templates.values() if source.name.endswith(f".{fmt}.j2")):
            continue  # each of its pages would fail on the template that does not parse
        renderer = Renderer(site, fmt, templates, envs[fmt], markdown_notes=False)
        for kind, stem, page in samples:
            try:
                renderer.page(kind, stem, page)
            except TemplateError as exc:
                if exc.location not in failed_at:  # a broken base fails every page: say it once
                    failed_at.add(exc.location)
                    findings.append(_finding(exc))
    return findings


def _samples(kind: str, pages: Sequence[PipelinePage] | Sequence[ServicePage]) -> list[tuple[str, str, object]]:
    """A page with notes and one without, where there are both: templates often branch on notes."""
    with_notes = next((page for page in pages if page.notes is not None), None)
    without = next((page for page in pages if page.notes is None), None)
    return [(kind, page.stem, page) for page in (with_notes, without) if page is not None]


def _finding(exc: TemplateError) -> Finding:
    hint = _SYNTAX_HINT if exc.problem.startswith("template syntax") else _FIELD_HINT
    return error(exc.problem, exc.location, hint=hint, code="template")
