"""`opsctl whoisoncall`, `schedule`, `explain` and `fairness`: answers from the engine."""

from __future__ import annotations

import click

from opsctl.cli.runtime import BOXED, emit_json, emit_tables, runtime, terminal_width

AUTO_HELP = "auto: a boxed table on a terminal, plain aligned columns when piped (both as wide as $COLUMNS)."


@click.command("whoisoncall")
@click.option("--team", metavar="TEAM", help="Only this team's rotations.")
@click.option("--pipeline", metavar="PIPELINE", help="Also the pipeline's owners and whether each is available.")
@click.option("--at", "at", metavar="TIME", help="An instant instead of now: 2026-12-24T09:00, +3d, now.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "table", "plain", "json"]),
    default="auto",
    show_default=True,
    help=AUTO_HELP,
)
def whoisoncall_command(team: str | None, pipeline: str | None, at: str | None, fmt: str) -> None:
    """Who is on call now (or at TIME), per rotation, and why."""
    from opsctl.answers.oncall import answers
    from opsctl.answers.tables import answer_tables

    rt = runtime()
    instant = rt.when(at)
    org = rt.org(team=team, pipeline=pipeline, pipelines=False)
    engine = rt.engine(org)
    rows = answers(org, engine, instant, team=team, pipeline=pipeline)
    if fmt == "json":
        emit_json(rows)
    else:
        emit_tables(answer_tables(rows), boxed=BOXED[fmt])
    if at is None and pipeline is None:
        rt.compile_answers(org, engine)


@click.command("schedule")
@click.option("--team", metavar="TEAM", help="Only this team's rotations.")
@click.option("--person", metavar="PERSON", help="Only the shifts of this person (as primary or secondary).")
@click.option("--from", "start", metavar="TIME", help="Start of the window (default: now).")
@click.option("--to", "end", metavar="TIME", help="End of the window.")
@click.option("--weeks", type=click.IntRange(1, 520), help="Length of the window in weeks (default 4).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "table", "plain", "json", "ics"]),
    default="auto",
    show_default=True,
    help=AUTO_HELP,
)
def schedule_command(
    team: str | None, person: str | None, start: str | None, end: str | None, weeks: int | None, fmt: str
) -> None:
    """The resolved shifts in a window: swaps, reduced duty and overrides applied.

    --format ics writes an iCalendar feed to subscribe to: one event per shift and role,
    whole, with reduced duty inside it described, and stable UIDs.
    """
    from datetime import timedelta

    from opsctl.answers.oncall import schedule_json, schedule_slots
    from opsctl.answers.tables import schedule_table
    from opsctl.errors import UsageError

    if end is not None and weeks is not None:
        raise click.UsageError("give --to or --weeks, not both")
    rt = runtime()
    window_start = rt.when(start, "--from")
    window_end = rt.when(end, "--to") if end is not None else window_start + timedelta(weeks=weeks or 4)
    if window_end <= window_start:
        raise UsageError("--to must be after --from")
    org = rt.org(team=team if person is None else None, pipelines=False)
    if fmt == "ics":
        import sys

        from opsctl.answers.ics import calendar_feed

        title = f"On call: {org.people[person].name}" if person in org.people else f"On call: {team or org.settings.org_name}"
        feed = calendar_feed(org, rt.engine(org), window_start, window_end, now=rt.now, title=title, team=team, person=person)
        sys.stdout.buffer.write(feed)
        sys.stdout.flush()
        return
    slots = schedule_slots(org, rt.engine(org), window_start, window_end, team=team, person=person)
    if fmt == "json":
        emit_json(schedule_json(org, slots))
    else:
        emit_tables([schedule_table(org, slots)], boxed=BOXED[fmt])


@click.command("explain")
@click.option("--team", required=True, metavar="TEAM", help="The team whose on-call to explain.")
@click.option("--at", "at", metavar="TIME", help="An instant instead of now.")
def explain_command(team: str, at: str | None) -> None:
    """Why this person is on call, step by step: base, swaps, reduced duty, overrides."""
    from opsctl.answers.oncall import explain_lines

    rt = runtime()
    org = rt.org(team=team, pipelines=False)
    click.echo("\n".join(explain_lines(org, rt.engine(org), rt.when(at), team, width=terminal_width() or 80)).rstrip())


@click.command("fairness")
@click.option("--team", metavar="TEAM", help="Only this team's rotations.")
@click.option("--from", "start", metavar="TIME", help="Start of the window (default: 90 days ago).")
@click.option("--to", "end", metavar="TIME", help="End of the window (default: 90 days from now).")
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "table", "plain", "json"]), default="auto", show_default=True, help=AUTO_HELP
)
def fairness_command(team: str | None, start: str | None, end: str | None, fmt: str) -> None:
    """Per person: shifts, hours, night, weekend and public-holiday hours, swaps; flags imbalance."""
    from dataclasses import asdict
    from datetime import timedelta

    from opsctl.answers.oncall import pick_rotations
    from opsctl.engine.fairness import fairness
    from opsctl.errors import UsageError

    rt = runtime()
    window_start = rt.when(start, "--from") if start else rt.now - timedelta(days=90)
    window_end = rt.when(end, "--to") if end else rt.now + timedelta(days=90)
    if window_end <= window_start:
        raise UsageError("--to must be after --from")
    org = rt.org(team=team, pipelines=False)
    result = fairness(org, rt.engine(org), window_start, window_end, pick_rotations(org, team))
    if fmt == "json":
        emit_json({rotation: [_rounded(asdict(item)) for item in loads] for rotation, loads in result.items()})
        return
    from opsctl.answers.columns import Table

    headers = ("Person", "Pri shifts", "Sec shifts", "Pri h", "Sec h", "Night h", "Wknd h", "Hol h", "Given", "Received", "Flags")
    tables = []
    for rotation, loads in result.items():
        rows = [
            [
                item.person,
                str(item.primary_shifts),
                str(item.secondary_shifts),
                f"{item.primary_hours:.0f}",
                f"{item.secondary_hours:.0f}",
                f"{item.night_hours:.0f}",
                f"{item.weekend_hours:.0f}",
                f"{item.holiday_hours:.0f}",
                str(item.swaps_given),
                str(item.swaps_received),
                "; ".join(item.flags),
            ]
            for item in loads
        ]
        title = f"{rotation}: {window_start:%Y-%m-%d} to {window_end:%Y-%m-%d}"
        tables.append(Table(headers, rows, title=title, right=range(1, 10), keep_title=True))
    emit_tables(tables, boxed=BOXED[fmt])


def _rounded(values: dict[str, object]) -> dict[str, object]:
    """Hours to the hundredth (36 seconds): a window that starts now has no whole hours."""
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in values.items()}
