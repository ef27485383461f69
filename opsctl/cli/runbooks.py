"""`opsctl runbooks render` (a page per pipeline and catalog service, and the on-call index) and
`opsctl runbooks template` (start overriding a shipped template)."""

from __future__ import annotations

import click

from opsctl.cli.runtime import runtime

DEFAULT_OUT = {"html": "site", "md": "docs/runbooks"}
"""Where pages go without --out, inside the ops repository."""


@click.group("runbooks")
def runbooks_group() -> None:
    """Runbooks and the on-call site, rendered from the repository."""


@runbooks_group.command("render")
@click.option(
    "--out",
    "out",
    metavar="DIR",
    help="Output folder (default: site/ for html, docs/runbooks/ for md, in the ops repository).",
)
@click.option(
    "--format",
    "fmt",
    default="html",
    show_default=True,
    metavar="md|html",
    help="html: a static site for a browser; md: Markdown to commit, readable on a git host.",
)
@click.option("--at", "at", metavar="TIME", help="Show who is on call at TIME instead of now.")
@click.option("--no-git", is_flag=True, help="Leave out the last-changed dates (git is not asked).")
@click.option(
    "--alerts-db",
    metavar="PATH|URL",
    help="Add the on-call health page and each pipeline's last success from this alert database,"
    " a SQLite file or a postgresql:// URL"
    " [default: the router's, if it exists:"
    " $OPSCTL_ROUTER_DB, else opsctl-router.sqlite3 in the repository].",
)
@click.option(
    "--health-weeks", type=click.IntRange(1, 520), default=4, show_default=True, help="Weeks the health page covers, up to --at."
)
def render_command(out: str | None, fmt: str, at: str | None, no_git: bool, alerts_db: str | None, health_weeks: int) -> None:
    """Render a page per pipeline and catalog service, and the index: who is on call now,
    how to page each team, what it handles, the service catalog and every runbook.

    Templates come with opsctl; a file of the same name in runbooks/templates/ replaces
    one. Notes in runbooks/pipelines/<pipeline-id>.md and each service's runbook file are
    rendered into their pages.
    """
    from pathlib import Path

    from opsctl.cli.router import database
    from opsctl.errors import UsageError
    from opsctl.model.spelling import did_you_mean
    from opsctl.repo.loader import WorkingTree
    from opsctl.router.store import exists
    from opsctl.runbooks.history import last_changed, page_spans
    from opsctl.runbooks.inputs import bytecode_cache, read_notes, read_templates
    from opsctl.runbooks.output import write_site
    from opsctl.runbooks.pages import build_site
    from opsctl.runbooks.render import FORMATS, output_path, render_site

    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}{did_you_mean(fmt, FORMATS)}")
    rt = runtime()
    instant = rt.when(at)
    result = rt.load(catalog=True)
    org = result.require_ok()
    files = result.files or WorkingTree(rt.root)
    changed = {} if no_git else last_changed(rt.root, page_spans(result))
    engine = rt.engine(org)
    site = build_site(org, engine, instant, notes=read_notes(files, org), changed=changed)
    health_db = database(alerts_db)
    if alerts_db is not None or exists(health_db):
        from dataclasses import replace
        from datetime import timedelta

        from opsctl.cli.report import build_health
        from opsctl.cli.router import pipeline_freshness
        from opsctl.runbooks.health import health_page
        from opsctl.runbooks.pages import with_freshness

        period = (instant - timedelta(weeks=health_weeks), instant)
        report = build_health(rt, org, engine, health_db, *period, None, option="--alerts-db")
        site = replace(site, health=health_page(report, charts=fmt == "html"))
        site = with_freshness(site, pipeline_freshness(org, str(health_db), instant, option="--alerts-db"))
    rendered = render_site(site, fmt, read_templates(files), bytecode_cache=bytecode_cache(fmt, rt.cache))
    target = Path(out) if out is not None else rt.root / DEFAULT_OUT[fmt]
    stale = write_site(target, rendered)
    pages = 1 + len(site.pipelines) + len(site.services) + (site.health is not None)
    removed = f", removed {len(stale)} stale" if stale else ""
    click.echo(
        f"opsctl runbooks: wrote {pages} pages to {target}{removed}; start at {target / output_path('index', fmt)}", err=True
    )


@runbooks_group.command("template")
@click.argument("names", metavar="[NAME]...", nargs=-1)
def template_command(names: tuple[str, ...]) -> None:
    """Copy shipped templates into runbooks/templates/ to edit; without NAME, list them.

    A file in runbooks/templates/ replaces the shipped template of the same name, file by
    file: copy only the ones you change, so the others follow opsctl's updates.
    """
    from opsctl.runbooks.inputs import TEMPLATES_DIR, shipped_templates, start_override

    rt = runtime()
    if not names:
        for name in shipped_templates():
            mark = f"  (overridden in {TEMPLATES_DIR}/)" if (rt.root / TEMPLATES_DIR / name).is_file() else ""
            click.echo(f"{name}{mark}")
        return
    for name in names:
        written = start_override(rt.root, name)
        click.echo(f"opsctl runbooks: wrote {written.relative_to(rt.root).as_posix()}, a copy of the shipped {name}", err=True)
