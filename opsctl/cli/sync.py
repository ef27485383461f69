"""`opsctl sync pagerduty|slack`, `opsctl notify handoff` and `opsctl doctor`.

Each command reads tokens and base URLs from the environment (:class:`VendorConfig`),
builds its client at this edge, calls the library (desired → fetch → diff → apply) and
renders the result. The plan goes to stdout; progress and summaries to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opsctl.cli.runtime import emit_json, runtime

if TYPE_CHECKING:
    from opsctl.sync.plan import Plan
    from opsctl.sync.progress import Progress

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
    """A rich progress display when stderr is a terminal; quiet otherwise."""
    from opsctl.sync.progress import QUIET, RichProgress

    if sys.stderr.isatty():
        with RichProgress() as shown:
            yield shown
    else:
        yield QUIET


def _emit_plan(plan: Plan, fmt: str, command: str, applied: dict[str, int] | None = None) -> None:
    from opsctl.sync.plan import render_text, to_json

    if fmt == "json":
        emit_json(to_json(plan) | {"applied": applied})
    else:
        hint = "" if applied is not None else f"Run `opsctl {command} --apply` to make these changes."
        click.echo(render_text(plan, apply_hint=hint), nl=False)


def _show_and_apply(
    plan: Plan, *, fmt: str, do_apply: bool, command: str, apply: Callable[[Progress], int]
) -> dict[str, int] | None:
    """Print the plan (text before any write, so it is seen even if the apply fails), apply it
    with ``--apply`` (``apply`` returns the number of writes), then print JSON if asked.

    Progress shows only while the network is busy, so it never mixes with the plan's lines.
    """
    if fmt == "text":
        _emit_plan(plan, fmt, command, {} if do_apply else None)
    applied = None
    if do_apply:
        writes = 0
        if plan.changes:
            with progress_display() as progress:
                writes = apply(progress)
        applied = plan.summary() | {"writes": writes}
        click.echo(f"opsctl {command}: applied, {writes} write(s)", err=True)
    if fmt == "json":
        _emit_plan(plan, fmt, command, applied)
    return applied


def _finish(plan: Plan, *, check: bool, do_apply: bool) -> None:
    """Exit 1 for --check when the plan found drift (before an apply fixed it)."""
    if check and plan.drift and not do_apply:
        from opsctl.errors import ProblemsFound

        raise ProblemsFound("")


@click.group("sync")
def sync_group() -> None:
    """Sync the org to PagerDuty and Slack: print the plan; change things only with --apply.

    Tokens come from the environment only: PAGERDUTY_TOKEN, SLACK_BOT_TOKEN.
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

    A schedule per rotation (and its secondary), owner schedules, an escalation policy and
    a service per pipeline (or per team), overrides for the horizon. Prints the plan
    (create, update, delete, with the fields that change); --apply makes it so, and a
    second --apply then makes no writes. --check exits 1 on drift.
    """
    from opsctl.errors import UsageError
    from opsctl.sync import pagerduty
    from opsctl.sync.pagerduty_desired import desired_pagerduty
    from opsctl.sync.pagerduty_keys import routing_keys, routing_keys_of
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.errors import translated
    from opsctl.vendors.pagerduty_api import rest_client
    from opsctl.vendors.routing_keys import write_routing_keys

    if check and do_apply:
        raise UsageError("give --check or --apply, not both")
    rt = runtime()
    now = rt.when(at)
    org = rt.org()
    config = VendorConfig.from_env(rt.env)
    client = rest_client(config)
    with translated(config):
        desired = desired_pagerduty(org, rt.engine(org), now)
        with progress_display() as progress:
            actual = pagerduty.fetch_actual(client, since=now, until=desired.until, progress=progress)
        plan = pagerduty.diff(desired, actual)
        applied = _show_and_apply(
            plan,
            fmt=fmt,
            do_apply=do_apply,
            command="sync pagerduty",
            apply=lambda progress: pagerduty.apply(client, plan, progress=progress).writes,
        )
        if routing_keys_out is not None:
            # after writes, read the services again: the integrations just made carry the new keys
            services = pagerduty.fetch_services(client) if applied and applied["writes"] else actual.services
            keys = routing_keys_of(client, services)
            found, notices = routing_keys(desired, keys)
            write_routing_keys(Path(routing_keys_out), found)
            for notice in notices:
                click.echo(f"{notice.level}: {notice.subject}: {notice.message}", err=True)
            click.echo(
                f"opsctl sync pagerduty: wrote {routing_keys_out} ({len(found.pipelines)} pipelines, {len(found.teams)} teams)",
                err=True,
            )
    _finish(plan, check=check, do_apply=do_apply)


@sync_group.command("slack")
@APPLY_OPTION
@CHECK_OPTION
@FORMAT_OPTION
@AT_OPTION
def sync_slack_command(do_apply: bool, check: bool, fmt: str, at: str | None) -> None:
    """On-call user groups and channel topics in Slack.

    An on-call user group per team (the current primary and secondary) and the team
    channel's topic naming them. Prints the plan; --apply makes it so. Run it from cron after each handoff (or every
    15 minutes): with nothing to change it makes no writes.
    """
    from opsctl.errors import UsageError
    from opsctl.sync import slack
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.errors import translated
    from opsctl.vendors.slack_api import slack_client

    if check and do_apply:
        raise UsageError("give --check or --apply, not both")
    rt = runtime()
    now = rt.when(at)
    org = rt.org()
    config = VendorConfig.from_env(rt.env)
    client = slack_client(config)
    with translated(config):
        desired = slack.desired_slack(org, rt.engine(org), now)
        with progress_display() as progress:
            actual = slack.fetch_actual(client, desired, progress=progress)
        plan = slack.diff(desired, actual)
        _show_and_apply(
            plan,
            fmt=fmt,
            do_apply=do_apply,
            command="sync slack",
            apply=lambda progress: slack.apply(client, plan, progress=progress),
        )
    _finish(plan, check=check, do_apply=do_apply)


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
    """
    from opsctl.sync.handoff import notify_handoffs
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.errors import translated
    from opsctl.vendors.slack_api import slack_client

    rt = runtime()
    now = rt.when(at)
    org = rt.org()
    config = VendorConfig.from_env(rt.env)
    client = slack_client(config)
    with translated(config):
        results, notices = notify_handoffs(client, org, rt.engine(org), now, dry_run=dry_run)
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
