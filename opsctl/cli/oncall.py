"""`opsctl whoisoncall`, `schedule`, `explain` and `fairness`: answers from the engine."""

from __future__ import annotations

import click

from opsctl.cli.runtime import emit_json, runtime, stdout_is_tty, terminal_width


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
    help="auto: a table on a terminal, plain aligned columns when piped.",
)
def whoisoncall_command(team: str | None, pipeline: str | None, at: str | None, fmt: str) -> None:
    """Who is on call now (or at TIME), per rotation, and why."""
    from opsctl.answers.oncall import answers
    from opsctl.answers.tables import render_table

    rt = runtime()
    instant = rt.when(at)
    org = rt.org(team=team, pipeline=pipeline)
    engine = rt.engine(org)
    rows = answers(org, engine, instant, team=team, pipeline=pipeline)
    if fmt == "auto":
        fmt = "table" if stdout_is_tty() else "plain"
    if fmt == "json":
        emit_json(rows)
    elif fmt == "plain" and pipeline is None:
        from opsctl.cli.answer_cache import plain_table

        click.echo(plain_table(rows), nl=False)
    else:
        click.echo(render_table(rows, color=stdout_is_tty(), width=terminal_width()), nl=False)
    if at is None and pipeline is None:
        rt.compile_answers(org, engine)


@click.command("schedule")
@click.option("--team", metavar="TEAM", help="Only this team's rotations.")
@click.option("--person", metavar="PERSON", help="Only the shifts of this person (as primary or secondary).")
@click.option("--from", "start", metavar="TIME", help="Start of the window (default: now).")
@click.option("--to", "end", metavar="TIME", help="End of the window.")
@click.option("--weeks", type=click.IntRange(1, 520), help="Length of the window in weeks (default 4).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ics"]), default="table", show_default=True)
def schedule_command(
    team: str | None, person: str | None, start: str | None, end: str | None, weeks: int | None, fmt: str
) -> None:
    """The resolved shifts in a window: swaps, reduced duty and overrides applied.

    --format ics writes an iCalendar feed (one event per shift, stable UIDs) to subscribe to.
    """
    from datetime import timedelta

    from opsctl.answers.oncall import schedule_json, schedule_slots
    from opsctl.answers.tables import render_schedule_table
    from opsctl.errors import UsageError

    if end is not None and weeks is not None:
        raise click.UsageError("give --to or --weeks, not both")
    rt = runtime()
    window_start = rt.when(start, "--from")
    window_end = rt.when(end, "--to") if end is not None else window_start + timedelta(weeks=weeks or 4)
    if window_end <= window_start:
        raise UsageError("--to must be after --from")
    org = rt.org(team=team if person is None else None)
    slots = schedule_slots(org, rt.engine(org), window_start, window_end, team=team, person=person)
    if fmt == "json":
        emit_json(schedule_json(org, slots))
    elif fmt == "ics":
        import sys

        from opsctl.answers.ics import to_ics

        title = f"On call: {org.people[person].name}" if person else f"On call: {team or org.settings.org_name}"
        sys.stdout.buffer.write(to_ics(org, slots, person=person, now=rt.now, title=title))
        sys.stdout.flush()
    else:
        click.echo(render_schedule_table(org, slots, color=stdout_is_tty(), width=terminal_width()), nl=False)


@click.command("explain")
@click.option("--team", required=True, metavar="TEAM", help="The team whose on-call to explain.")
@click.option("--at", "at", metavar="TIME", help="An instant instead of now.")
def explain_command(team: str, at: str | None) -> None:
    """Why this person is on call, step by step: base, swaps, reduced duty, overrides."""
    from opsctl.answers.oncall import explain_lines

    rt = runtime()
    org = rt.org(team=team)
    click.echo("\n".join(explain_lines(org, rt.engine(org), rt.when(at), team)).rstrip())


@click.command("fairness")
@click.option("--team", metavar="TEAM", help="Only this team's rotations.")
@click.option("--from", "start", metavar="TIME", help="Start of the window (default: 90 days ago).")
@click.option("--to", "end", metavar="TIME", help="End of the window (default: 90 days from now).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
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
    org = rt.org(team=team)
    result = fairness(org, rt.engine(org), window_start, window_end, pick_rotations(org, team))
    if fmt == "json":
        emit_json({rotation: [asdict(item) for item in loads] for rotation, loads in result.items()})
        return
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=terminal_width(), force_terminal=stdout_is_tty(), no_color=not stdout_is_tty())
    columns = ("Person", "Pri shifts", "Sec shifts", "Pri h", "Sec h", "Night h", "Wknd h", "Hol h", "Given", "Received", "Flags")
    for rotation, loads in result.items():
        table = Table(title=f"{rotation}: {window_start:%Y-%m-%d} to {window_end:%Y-%m-%d}", title_justify="left")
        for column in columns:
            table.add_column(column, justify="left" if column in ("Person", "Flags") else "right", overflow="fold")
        for item in loads:
            table.add_row(
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
            )
        console.print(table)
    click.echo(buffer.getvalue(), nl=False)
