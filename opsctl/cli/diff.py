"""`opsctl diff`: what a change to the files does, for pull-request review."""

from __future__ import annotations

from pathlib import Path

import click

from opsctl.cli.runtime import emit_json, runtime


@click.command("diff")
@click.option(
    "--base",
    "base",
    metavar="REV",
    help="Git revision to compare with (default: the merge base with the default branch, else HEAD).",
)
@click.option("--weeks", type=click.IntRange(1, 104), default=8, show_default=True, help="How far ahead to compare shifts.")
@click.option("--from", "start", metavar="TIME", help="Start of the compared window (default: now).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are changes, like `git diff --exit-code`.")
def diff_command(base: str | None, weeks: int, start: str | None, fmt: str, exit_code: bool) -> None:
    """Ownership changes, and every shift whose primary or secondary changes, against a git revision.

    The working tree is compared with REV: people, teams, pipelines (owners, tier, …),
    rotations, time off, overrides and services that were added, removed or changed, then
    each interval in the next weeks in which somebody else becomes primary or secondary.
    --format markdown is made for a pull-request comment.
    """
    from datetime import timedelta

    from opsctl.engine.changes import diff_orgs, render_markdown, render_text, to_json
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.git import default_base, files_at, short
    from opsctl.repo.loader import load

    rt = runtime()
    if base is not None:
        _check_revision(rt.root, base)
    new_org = rt.org(catalog=True)
    revision = base or short(rt.root, default_base(rt.root))
    old = load(files_at(rt.root, revision))
    if not old.ok:
        click.echo(f"opsctl: note: {revision} has errors in its files; comparing what could be read", err=True)
    window_start = rt.when(start, "--from")
    window_end = window_start + timedelta(weeks=weeks)
    diff = diff_orgs(old.org, new_org, Engine(old.org, rt.calendar), rt.engine(new_org), window_start, window_end)
    if fmt == "json":
        emit_json(to_json(diff) | {"base": revision})
    elif fmt == "markdown":
        click.echo(render_markdown(diff, old.org, new_org, base=revision))
    else:
        click.echo(render_text(diff, old.org, new_org))
    if exit_code and not diff.empty:
        from opsctl.errors import ProblemsFound

        raise ProblemsFound("")


def _check_revision(root: Path, revision: str) -> None:
    """A --base that names no commit is a usage error (exit 2), with the branch or tag it may have meant."""
    from opsctl.errors import GitError, UsageError
    from opsctl.model.spelling import did_you_mean
    from opsctl.repo.git import is_repository, run_git

    if not is_repository(root):
        return  # files_at says the repository is not in git, which is no usage error
    try:
        run_git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except GitError:
        names = run_git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags", "refs/remotes")
        suggestion = did_you_mean(revision, names.decode().split())
        raise UsageError(f"--base: unknown revision {revision!r}{suggestion}") from None
