"""`opsctl sync pagerduty|slack`, `opsctl notify handoff` and `opsctl doctor`.

Each command makes one library call (:func:`opsctl.sync.run.run_sync` for every sync
target) with the environment, and renders what comes back. The plan goes to stdout;
progress and summaries to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opsctl.cli.runtime import emit_json, runtime

if TYPE_CHECKING:
    from opsctl.sync.plan import Plan
    from opsctl.sync.progress import Progress
    from opsctl.sync.run import Target

APPLY_OPTION = click.option("--apply", "do_apply", is_flag=True, help="Make the changes (without it: print the plan only).")
CHECK_OPTION = click.option(
    "--check", is_flag=True, help="Exit 1 when the service differs from the repository (for cron and CI)."
)
FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
AT_OPTION = click.option("--at", "at", metavar="TIME", help="Compute as of TIME instead of now (e.g. to preview a later week).")


@contextmanager
def progress_display() -> Iterator[Progress]:
    """A rich progress display when stderr is a terminal; else a line per long wait."""
    from opsctl.sync.progress import RichProgress, WaitLines

    if sys.stderr.isatty():
        with RichProgress() as shown:
            yield shown
    else:
        yield WaitLines(lambda line: click.echo(line, err=True))


def _sync(target: Target, *, do_apply: bool, check: bool, fmt: str, at: str | None, routing_keys_out: str | None = None) -> None:
    """Parse, one library call (:func:`opsctl.sync.run.run_sync`), render."""
    from opsctl.sync.plan import render_text, to_json
    from opsctl.sync.run import run_sync

    command = f"sync {target}"

    def show(plan: Plan, offline: bool) -> None:
        # text before any write, so that it is seen even if the apply fails
        if fmt == "text":
            hint = "" if do_apply or offline else f"Run `opsctl {command} --apply` to make these changes."
            click.echo(render_text(plan, apply_hint=hint), nl=False)

    rt = runtime()
    now = rt.when(at)
    org = rt.org()
    with progress_display() as progress:
        outcome = run_sync(
            target,
            org,
            rt.engine(org),
            now,
            rt.env,
            apply=do_apply,
            check=check,
            progress=progress,
            on_plan=show,
            routing_keys_out=Path(routing_keys_out) if routing_keys_out else None,
        )
    applied = None
    if outcome.applied is not None:
        applied = outcome.plan.summary() | {"writes": outcome.applied.writes}
        if outcome.applied.complete:
            click.echo(f"opsctl {command}: applied, {outcome.applied.writes} write(s)", err=True)
    for notice in outcome.notices:
        prefix = f"opsctl {command}: " if notice.level == "info" else f"{notice.level}: {notice.subject}: "
        click.echo(prefix + notice.message, err=True)
    if fmt == "json":
        emit_json(to_json(outcome.plan) | {"applied": applied, "offline": outcome.offline})
    problem = outcome.problem(check=check)
    if problem is not None:
        raise problem


@click.group("sync")
def sync_group() -> None:
    """Sync the org to PagerDuty and Slack: print the plan; change things only with --apply.

    Tokens come from the environment only: PAGERDUTY_TOKEN, SLACK_BOT_TOKEN. Without the
    token, the plan is an offline preview of everything opsctl would make (nothing read).
    """


@sync_group.command("pagerduty")
@APPLY_OPTION
@CHECK_OPTION
@FORMAT_OPTION
@click.option(
    "--routing-keys-out",
    "routing_keys_out",
    type=click.Path(dir_okay=False),
    help="Write the routing keys of the managed services to this JSON file (mode 0600) for the alert router.",
)
@AT_OPTION
def sync_pagerduty_command(do_apply: bool, check: bool, fmt: str, routing_keys_out: str | None, at: str | None) -> None:
    """Schedules, escalation policies and services in PagerDuty.

    A schedule per rotation (and its secondary), a schedule per person paged as owner or
    lead (nobody on call while they are away), an escalation policy per owner pair, a
    service per pipeline (or per team), overrides for the horizon. Prints the plan
    (create, update, delete, with the fields that change); --apply makes it so, and a
    second --apply then makes no writes. --check exits 1 on drift.
    """
    _sync("pagerduty", do_apply=do_apply, check=check, fmt=fmt, at=at, routing_keys_out=routing_keys_out)


@sync_group.command("slack")
@APPLY_OPTION
@CHECK_OPTION
@FORMAT_OPTION
@AT_OPTION
def sync_slack_command(do_apply: bool, check: bool, fmt: str, at: str | None) -> None:
    """On-call user groups and channel topics in Slack.

    An on-call user group per team (the current primary and secondary who can be paged)
    and the team channel's topic naming them. Prints the plan; --apply makes it so. Run it
    from cron after each handoff (or every 15 minutes): with nothing to change it makes no writes.
    """
    _sync("slack", do_apply=do_apply, check=check, fmt=fmt, at=at)


@click.group("notify")
def notify_group() -> None:
    """Messages to the team channels."""


@notify_group.command("handoff")
@click.option("--dry-run", is_flag=True, help="Print the messages that would be posted; post nothing.")
@AT_OPTION
def notify_handoff_command(dry_run: bool, at: str | None) -> None:
    """Post each shift change's handoff message to the team channel, once.

    Outgoing and incoming on-call, their next shifts and the reduced-duty windows ahead.
    Safe to run as often as you like (e.g. every 15 minutes from cron): a message already
    in the channel for this shift (found by its Slack metadata) is not posted again.
    --dry-run without SLACK_BOT_TOKEN prints the messages offline (nothing read).
    """
    from opsctl.sync.handoff import run_handoffs

    rt = runtime()
    now = rt.when(at)
    org = rt.org()
    results, notices = run_handoffs(org, rt.engine(org), now, rt.env, dry_run=dry_run)
    for notice in notices:
        click.echo(f"{notice.level}: {notice.subject}: {notice.message}", err=True)
    for result in results:
        click.echo(f"{result.rotation} shift {result.shift} → #{result.channel}: {result.outcome}")
        if dry_run and result.text:
            click.echo("    " + result.text.replace("\n", "\n    "))


@click.command("doctor")
def doctor_command() -> None:
    """Check the PagerDuty and Slack tokens and scopes, and find everybody.

    Lists every person PagerDuty or Slack does not know (by id, else by email).
    Exit 0 when all is well, 1 when anything needs fixing.
    """
    from opsctl.sync.doctor import doctor, render_report
    from opsctl.vendors.config import VendorConfig

    rt = runtime()
    org = rt.org()
    report = doctor(VendorConfig.from_env(rt.env), org)
    click.echo(render_report(report), nl=False)
    if not report.ok:
        from opsctl.errors import ProblemsFound

        raise ProblemsFound("")
