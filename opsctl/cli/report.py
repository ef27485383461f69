"""`opsctl report`: how the on-call went over a period, from what the alert router stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import click

from opsctl.cli.router import DB_HELP
from opsctl.cli.runtime import BOXED, Runtime, emit_json, runtime, table_style

if TYPE_CHECKING:
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.health.report import Report
    from opsctl.model import Org

DEFAULT_WEEKS = 4
FORMATS = ("auto", "table", "plain", "json")
FORMAT_HELP = "auto: boxed tables on a terminal, plain aligned columns when piped (both as wide as $COLUMNS); json: everything."


def report_window(rt: Runtime, start: str | None, end: str | None, weeks: int | None) -> tuple[datetime, datetime]:
    """The period from ``--from``, ``--to`` and ``--weeks``: any two of them, or one, or none
    (the last four weeks up to now)."""
    from opsctl.errors import UsageError

    if start is not None and end is not None and weeks is not None:
        raise UsageError("give at most two of --from, --to and --weeks")
    length = timedelta(weeks=weeks or DEFAULT_WEEKS)
    if end is not None:
        window_end = rt.when(end, "--to")
        window_start = rt.when(start, "--from") if start is not None else window_end - length
    elif start is not None:
        window_start = rt.when(start, "--from")
        window_end = window_start + length if weeks is not None else rt.now
    else:
        window_end = rt.now
        window_start = window_end - length
    if window_end <= window_start:
        raise UsageError("--to must be after --from")
    return window_start, window_end


def build_health(
    rt: Runtime, org: Org, engine: Engine, db: str, start: datetime, end: datetime, team: str | None, *, option: str = "--db"
) -> Report:
    """Read the router's records of the period from ``db`` (a SQLite file or a PostgreSQL URL,
    given by ``option``) and report on them."""
    from opsctl.health.report import health_report
    from opsctl.router.history import read_records

    records = read_records(db, start, end, option=option)
    return health_report(records, org, engine, start, end, now=rt.now, zone=rt.zone, team=team)


@click.command("report")
@click.option("--team", metavar="TEAM", help="Only this team's alerts, people and rotations.")
@click.option("--from", "start", metavar="TIME", help="Start of the period (default: --weeks before --to).")
@click.option("--to", "end", metavar="TIME", help="End of the period (default: now, or --weeks after --from).")
@click.option("--weeks", type=click.IntRange(1, 520), help=f"Length of the period in weeks (default {DEFAULT_WEEKS}).")
@click.option("--db", metavar="PATH|URL", help=DB_HELP)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help=FORMAT_HELP)
def report_command(team: str | None, start: str | None, end: str | None, weeks: int | None, db: str | None, fmt: str) -> None:
    """On-call health over a period: pages per team, pipeline and person, pages outside
    working hours, at night, on weekends and public holidays, time to resolve against the
    MTTR goal (settings.mttr_goal), the noisiest pipelines and failures, and alerts
    coalesced or grouped; each person's pages beside their on-call hours.

    Reads what `opsctl serve` stored. A failure counts in the period its first alert came in.
    """
    rt = runtime()
    window_start, window_end = report_window(rt, start, end, weeks)
    org = rt.org()
    from opsctl.cli.router import database

    report = build_health(rt, org, rt.engine(org), database(db), window_start, window_end, team)
    if fmt == "json":
        from opsctl.health.export import report_json

        emit_json(report_json(report))
        return
    from opsctl.health.text import render_text

    boxed, color, width = table_style(BOXED[fmt])
    click.echo(render_text(report, width=width, boxed=boxed, color=color), nl=False)
