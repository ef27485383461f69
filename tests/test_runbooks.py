"""Runbook pages of the example org: what each page says, that every link resolves, the
exact text of one pipeline page in each format, and the pieces (notes, escaping, git dates,
templates, output folder) on their own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import pytest
from markupsafe import escape as html_escape

from opsctl.engine.schedule.resolve import Engine
from opsctl.errors import TemplateError, UsageError
from opsctl.repo.loader import MemoryFiles, WorkingTree, load_working_tree
from opsctl.runbooks.history import Span, combine, last_changed, page_spans, parse_blame
from opsctl.runbooks.inputs import read_notes, read_templates
from opsctl.runbooks.notes import fit, relink
from opsctl.runbooks.output import MANIFEST, write_site
from opsctl.runbooks.pages import Site, build_site
from opsctl.runbooks.render import md_inline, render_site
from opsctl.system.holidays import LibraryHolidays
from tests.support import REPO_ROOT, TESTS

Rendered = dict[str, dict[str, str]]
"""Format → output path → text."""


def _html(text: str) -> str:
    return str(html_escape(text))


AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GOLDEN = TESTS / "golden" / "runbooks"
PINNED = {"pipelines/aggregate_profit_investors": date(2026, 11, 20)}


@pytest.fixture(scope="module")
def site() -> Site:
    result = load_working_tree(REPO_ROOT)
    org = result.require_ok()
    files = WorkingTree(REPO_ROOT)
    return build_site(org, Engine(org, LibraryHolidays()), AT, notes=read_notes(files, org), changed=PINNED)


@pytest.fixture(scope="module")
def rendered(site: Site) -> Rendered:
    templates = read_templates(WorkingTree(REPO_ROOT))
    return {fmt: render_site(site, fmt, templates) for fmt in ("md", "html")}


# --- what the pages say ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_pipeline_page_names_its_owners_and_failure_modes(site: Site, rendered: Rendered, fmt: str) -> None:
    files = rendered[fmt]
    escape = _html if fmt == "html" else md_inline
    assert len(site.pipelines) == 5
    for page in site.pipelines:
        text = files[f"pipelines/{page.pipeline.id}.{fmt}"]
        assert escape(page.primary.name) in text and escape(page.secondary.name) in text
        assert page.primary.email is not None and page.primary.email in text
        assert len(page.pipeline.failure_modes) >= 2
        for mode in page.pipeline.failure_modes:
            assert escape(mode.title) in text, mode.title
            for step in mode.first_steps:
                assert escape(step) in text, step
        assert escape(page.slack_channel or "") in text
        assert page.pipeline.freshness_sla and "freshness SLA" in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_service_pages_have_their_runbook_rendered_in(rendered: Rendered, fmt: str) -> None:
    kafka = rendered[fmt][f"services/kafka-streaming.{fmt}"]
    assert "Under-replicated partitions" in kafka  # from runbooks/services/kafka-streaming.md
    assert "Data Platform on-call" in kafka and "Tomasz Wiśniewski" in kafka
    assert "Site Reliability Engineering (SRE)" in kafka  # stakeholders from the catalog
    assert "#data-platform" in kafka  # intake


def test_index_is_the_oncall_publication(site: Site, rendered: Rendered) -> None:
    index = rendered["html"]["index.html"]
    assert "Mon 23 Nov 2026 12:00 UTC" in index  # when it was rendered
    data_eng = next(section for section in site.teams if section.team.id == "data-eng")
    [row] = data_eng.oncall
    assert row.primary is not None and row.primary.id == "de4"  # who is on call at AT
    assert row.secondary is not None and row.secondary.id == "de1"
    for section in site.teams:
        assert _html(section.team.name) in index
        for item in section.team.handles:
            assert _html(item) in index
    for link in site.links:
        assert f'href="{link.stem}.html"' in index
    assert index.count("<tr") >= 1 + len(site.teams)


def test_escalation_follows_the_chain_and_its_delays(site: Site) -> None:
    page = next(p for p in site.pipelines if p.pipeline.id == "aggregate_profit_investors")
    roles = [row.role for row in page.escalation]
    assert roles == ["pipeline primary owner", "pipeline secondary owner", "on-call primary", "on-call secondary", "team lead"]
    # 12:00 UTC is 06:00 in Chicago: the primary owner is outside working hours, so the chain starts at de1
    first, second, third = page.escalation[:3]
    assert first.who is not None and first.who.id == "de2" and first.skipped == "outside working hours"
    assert second.paged_after is not None and second.paged_after.total_seconds() == 0
    assert third.paged_after is not None and third.paged_after.total_seconds() == 10 * 60  # settings.escalation
    assert [row.wait.total_seconds() // 60 for row in page.escalation] == [10, 10, 15, 15, 0]


def test_search_index_lists_every_page_with_its_owners(site: Site, rendered: Rendered) -> None:
    script = rendered["html"]["assets/search-index.js"]
    payload = json.loads(script.split("window.OPSCTL_PAGES = ", 1)[1].rstrip().rstrip(";"))
    assert len(payload) == len(site.links) == 5 + 19
    profit = next(entry for entry in payload if entry["url"] == "pipelines/aggregate_profit_investors.html")
    assert profit["owners"] == ["Daniel Okafor", "Lena Hoffmann"]
    assert "</" not in script


# --- links ------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _is_internal(link: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", link) and not link.startswith("//")


def test_every_internal_link_of_the_html_site_resolves(tmp_path: Path, rendered: Rendered) -> None:
    files = rendered["html"]
    write_site(tmp_path, files)
    parsed = {}
    for path in files:
        if path.endswith(".html"):
            parser = _Links()
            parser.feed((tmp_path / path).read_text("utf-8"))
            parsed[path] = parser
    checked = 0
    for path, parser in parsed.items():
        for link in parser.links:
            if not _is_internal(link):
                assert link.startswith(("https://", "mailto:", "tel:")), link
                continue
            target, _, fragment = link.partition("#")
            resolved = PurePosixPath(path).parent / target if target else PurePosixPath(path)
            normal = os.path.normpath(resolved.as_posix())
            assert (tmp_path / normal).is_file(), f"{path}: {link} does not resolve"
            if fragment:
                assert fragment in parsed[normal].ids, f"{path}: {link}: no id {fragment!r}"
            checked += 1
    assert checked > 15 * len(parsed)  # stylesheet, scripts, navigation, cross-links: every page has many


def test_every_link_of_the_markdown_resolves(tmp_path: Path, rendered: Rendered) -> None:
    files = rendered["md"]
    write_site(tmp_path, files)
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', files["README.md"]))
    checked = 0
    for path, text in files.items():
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if not _is_internal(link):
                continue
            target, _, fragment = link.partition("#")
            normal = os.path.normpath((PurePosixPath(path).parent / target).as_posix()) if target else path
            assert (tmp_path / normal).is_file(), f"{path}: {link} does not resolve"
            if fragment:
                assert normal == "README.md" and fragment in anchors, f"{path}: {link}"
            checked += 1
    assert checked > 100


# --- golden pages -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_golden_pipeline_page(rendered: Rendered, fmt: str) -> None:
    """The whole page, with the time of rendering and the git date pinned. OPSCTL_UPDATE_GOLDEN=1 rewrites it."""
    actual = rendered[fmt][f"pipelines/aggregate_profit_investors.{fmt}"]
    golden = GOLDEN / f"aggregate_profit_investors.{fmt}"
    if os.environ.get("OPSCTL_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
        pytest.skip("golden output rewritten")
    assert actual == golden.read_text("utf-8")
    assert "Last changed 2026-11-20 (git)" in actual


def test_the_example_keeps_no_copy_of_a_shipped_template() -> None:
    """A repository overrides only the templates it changes; a copy of a shipped one would hide its updates."""
    from opsctl.runbooks.inputs import PACKAGE_TEMPLATES

    own = REPO_ROOT / "runbooks" / "templates"
    copies = [
        p.relative_to(own).as_posix()
        for p in own.rglob("*")
        if p.is_file()
        and (PACKAGE_TEMPLATES / p.relative_to(own)).is_file()
        and p.read_bytes() == (PACKAGE_TEMPLATES / p.relative_to(own)).read_bytes()
    ]
    assert copies == []


# --- notes and escaping -----------------------------------------------------------------


def test_a_note_loses_its_title_and_its_headings_move_down() -> None:
    note = "# Kafka: notes\n\nIntro.\n\n## Dashboards\n\n```sh\n# not a heading\n```\n\nSetext\n------\n\n###### Deep\n"
    assert fit(note) == "Intro.\n\n### Dashboards\n\n```sh\n# not a heading\n```\n\n### Setext\n\n###### Deep\n"
    assert fit("No title.\n\n# Later title\n") == "No title.\n\n## Later title\n"


def test_links_between_notes_lead_to_rendered_pages() -> None:
    pages = {"runbooks/services/kafka.md": "services/kafka-streaming", "runbooks/pipelines/p.md": "pipelines/p"}
    text = "See [Kafka](../services/kafka.md#lag), [web](https://x.example/a.md), [here](#top), [file](../x.yaml).\n"
    out = relink(text, "runbooks/pipelines/p.md", pages, lambda stem: f"../{stem}.html")
    assert (
        out
        == "See [Kafka](../services/kafka-streaming.html#lag), [web](https://x.example/a.md), [here](#top), [file](../x.yaml).\n"
    )
    assert relink("```\n[a](../services/kafka.md)\n```\n", "runbooks/pipelines/p.md", pages, str) == (
        "```\n[a](../services/kafka.md)\n```\n"
    )


def test_notes_in_html_escape_raw_html_and_link_bare_addresses() -> None:
    from opsctl.runbooks.notes import to_html

    assert "<script>" not in to_html("Hi <script>alert(1)</script>\n")
    assert to_html("Lag: https://grafana.example.com/d/lag. Code: `https://x.example` and [y](https://y.example)\n") == (
        '<p>Lag: <a href="https://grafana.example.com/d/lag">https://grafana.example.com/d/lag</a>. '
        'Code: <code>https://x.example</code> and <a href="https://y.example">y</a></p>\n'
    )


@pytest.mark.parametrize(
    ("text", "markdown"),
    [
        ("select count(*) from t", r"select count(\*) from t"),
        ("raw.salesforce_*", r"raw.salesforce\_\*"),
        ("unit_profit_experiments", "unit_profit_experiments"),
        ("a | b <c> [d]", r"a \| b \<c\> \[d\]"),
        ("1. first", r"1\. first"),
        ("# not a heading", r"\# not a heading"),
        ("two\nlines", "two lines"),
    ],
)
def test_yaml_text_is_escaped_for_markdown(text: str, markdown: str) -> None:
    assert md_inline(text) == markdown


# --- templates --------------------------------------------------------------------------


def _example_files(**extra: str) -> MemoryFiles:
    files: dict[str, bytes | str] = {}
    for path in sorted(REPO_ROOT.rglob("*")):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if path.is_file() and relative.split("/")[0] in ("ownership.yaml", "rotations", "service_catalog", "runbooks"):
            files[relative] = path.read_bytes()
    files.update(extra)
    return MemoryFiles(files)


def test_a_repository_template_replaces_the_shipped_one_file_by_file(site: Site) -> None:
    custom = '{% extends "base.md.j2" %}{% block content %}# {{ page.title }} is owned by {{ page.primary.name }}{% endblock %}'
    templates = read_templates(_example_files(**{"runbooks/templates/pipeline.md.j2": custom}))
    assert templates["pipeline.md.j2"].path == "runbooks/templates/pipeline.md.j2"
    from opsctl.runbooks.inputs import PACKAGE_TEMPLATES

    assert templates["index.md.j2"].text == (PACKAGE_TEMPLATES / "index.md.j2").read_text("utf-8")
    files = render_site(site, "md", templates)
    assert "# Aggregate Profit for Investors is owned by Daniel Okafor" in files["pipelines/aggregate_profit_investors.md"]
    without = read_templates(MemoryFiles({}))
    assert without["pipeline.md.j2"].path.endswith("opsctl/runbooks/templates/pipeline.md.j2")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{% extends 'base.md.j2' %}\n{% block content %}\n# {{ page.pipeline.ownr }}\n{% endblock %}\n",
            "runbooks/templates/pipeline.md.j2:3:20: 'opsctl.model.Pipeline object' has no attribute 'ownr' "
            "(rendering pipelines/unit_profit_experiments.md)",
        ),
        ("line one\n{% if page %}\n{{ page.title }\n", "runbooks/templates/pipeline.md.j2:3:1: template syntax: unexpected '}'"),
        (
            "\n{% include 'partial.md.j2' %}\n",
            "runbooks/templates/pipeline.md.j2:2:1: no template named 'partial.md.j2' "
            "(rendering pipelines/unit_profit_experiments.md)",
        ),
        (
            "{{ page.title | duration }}\n",
            "runbooks/templates/pipeline.md.j2:1:1: AttributeError: 'str' object has no attribute 'total_seconds' "
            "(rendering pipelines/unit_profit_experiments.md)",
        ),
    ],
)
def test_template_errors_name_the_file_and_line(site: Site, template: str, message: str) -> None:
    templates = read_templates(_example_files(**{"runbooks/templates/pipeline.md.j2": template}))
    with pytest.raises(TemplateError) as caught:
        render_site(site, "md", templates)
    assert str(caught.value) == message


# --- last-changed dates from git --------------------------------------------------------


def _git(root: Path, *args: str, when: str = "2026-01-05T10:00:00+00:00") -> None:
    env = os.environ | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def test_last_changed_dates_come_from_the_lines_and_notes_of_each_page(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed for this test")
    root = tmp_path / "ops"
    root.mkdir()
    for name in ("ownership.yaml", "rotations", "service_catalog", "runbooks"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "first")
    ownership = root / "ownership.yaml"
    ownership.write_text(ownership.read_text("utf-8").replace("freshness_sla: 3h", "freshness_sla: 4h"), encoding="utf-8")
    _git(root, "commit", "-q", "-am", "growth SLA", when="2026-02-10T10:00:00+01:00")
    note = root / "runbooks/pipelines/aggregate_profit_investors.md"
    note.write_text(note.read_text("utf-8") + "\nOne more thing.\n", encoding="utf-8")
    _git(root, "commit", "-q", "-am", "profit notes", when="2026-03-01T23:30:00-05:00")
    catalog = root / "service_catalog/mlops.yaml"
    catalog.write_text(catalog.read_text("utf-8").replace("summary: >-", "summary: >-\n  New."), encoding="utf-8")
    _git(root, "commit", "-q", "-am", "mlops summary", when="2026-04-01T10:00:00+00:00")
    # an uncommitted edit does not count
    ownership.write_text(ownership.read_text("utf-8").replace("freshness_sla: 2h", "freshness_sla: 1h"), encoding="utf-8")

    result = load_working_tree(root)
    dates = last_changed(root, page_spans(result))
    assert dates["pipelines/daily_growth_experiments"] == date(2026, 2, 10)
    assert dates["pipelines/aggregate_profit_investors"] == date(2026, 3, 1)  # in the committer's zone
    assert dates["pipelines/unit_profit_experiments"] == date(2026, 1, 5)
    assert dates["services/feature-store"] == date(2026, 4, 1)  # the catalog's summary is on every page of it
    assert dates["services/kafka-streaming"] == date(2026, 1, 5)
    assert last_changed(tmp_path, page_spans(result)) == {}  # not a git repository


def test_combine_takes_the_newest_date_of_a_page() -> None:
    spans = {
        "pipelines/a": [Span("ownership.yaml", 2, 3), Span("runbooks/pipelines/a.md")],
        "pipelines/b": [Span("x.yaml", 9, 9)],
    }
    blamed = {"ownership.yaml": [date(2026, 5, 1), date(2026, 1, 1), None, date(2026, 9, 9)]}
    assert combine(spans, blamed, {"runbooks/pipelines/a.md": date(2026, 2, 2)}) == {"pipelines/a": date(2026, 2, 2)}


def test_parse_blame_reads_porcelain_groups() -> None:
    sha, zero = "a" * 40, "0" * 40
    output = (
        f"{sha} 1 1 2\nauthor x\ncommitter-time 1767225600\ncommitter-tz -0500\nfilename f\n\tone\n{sha} 2 2\n\ttwo\n"
        f"{zero} 3 3 1\ncommitter-time 1800000000\ncommitter-tz +0000\n\tthree\n"
    )
    assert parse_blame(output) == [date(2025, 12, 31), date(2025, 12, 31), None]


# --- the output folder ------------------------------------------------------------------


def test_a_render_removes_only_its_own_stale_pages(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(out, {"index.html": "a", "pipelines/gone.html": "b", "pipelines/kept.html": "c"})
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    stale = write_site(out, {"index.html": "a2", "pipelines/kept.html": "c2"})
    assert stale == ["pipelines/gone.html"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MANIFEST,
        "index.html",
        "notes.txt",
        "pipelines/kept.html",
    ]
    (out / MANIFEST).write_text("../outside.txt\n", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("keep", encoding="utf-8")
    write_site(out, {"index.html": "a3"})
    assert (tmp_path / "outside.txt").exists()


def test_a_folder_opsctl_did_not_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("somebody's", encoding="utf-8")
    with pytest.raises(UsageError, match="has files that opsctl did not write"):
        write_site(tmp_path, {"README.md": "ours"})
    assert (tmp_path / "README.md").read_text("utf-8") == "somebody's"
