"""The health report for people: a summary, then tables per team, pipeline, failure and person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from opsctl.answers.columns import Table, wrap
from opsctl.health.report import FailureRow, PersonRow, Report, Resolution, Tally
from opsctl.model.spelling import format_duration


@dataclass(frozen=True)
class Column:
    """A column of the report's tables: numbers align right; ``drop`` > 0 marks a column that
    may be left out to fit the width, the highest first."""

    title: str
    left: bool = False
    drop: int = 0


TALLY_COLUMNS = (
    Column("Failures"),
    Column("Held", drop=5),
    Column("Pages"),
    Column("Off-hours"),
    Column("Night", drop=6),
    Column("Weekend", drop=7),
    Column("Holiday", drop=8),
    Column("Repeats", drop=3),
    Column("Grouped", drop=9),
)
PIPELINE_COLUMNS = (Column("Pipeline", left=True), Column("Team", left=True, drop=1), Column("Tier", left=True, drop=2))
RESOLUTION_COLUMNS = (Column("MTTR"), Column("In goal", drop=4), Column("Open"))
FAILURE_COLUMNS = (
    Column("Pipeline", left=True),
    Column("Failures"),
    Column("Repeats", drop=3),
    Column("Grouped", drop=9),
    Column("Pages"),
    Column("MTTR"),
    Column("Open", drop=2),
    Column("Summary", left=True),
)
PERSON_COLUMNS = (
    Column("Person", left=True),
    Column("Pages"),
    Column("Owner", drop=4),
    Column("On-call", drop=3),
    Column("Lead", drop=9),
    Column("Off-hours"),
    Column("Night", drop=6),
    Column("Weekend", drop=7),
    Column("Holiday", drop=8),
    Column("On-call h"),
    Column("Pages/wk on call", drop=5),
    Column("Flags", left=True),
)
LEGEND = (
    "Held: posted to Slack for the morning, not paged. Off-hours, Night (22:00-07:00), Weekend and Holiday count pages, "
    "each in the paged person's own time zone, working days and public holidays. MTTR: mean time to resolve the "
    "failures that paged (✓ within the goal of {goal}, ✗ over it); In goal: resolved within it. "
    "Pages/wk on call: pages as the on-call per week on call."
)


def duration(value: timedelta | None) -> str:
    """``1h12m``; ``<1m`` under a minute; ``—`` for none."""
    if value is None:
        return "—"
    if value < timedelta(minutes=1):
        return "<1m"
    return format_duration(value)


def _tally(t: Tally) -> list[str]:
    numbers = (t.alerts, t.held, t.pages, t.off_hours, t.night, t.weekend, t.holiday, t.repeats, t.grouped)
    return [str(n) for n in numbers]


def _resolution(r: Resolution) -> list[str]:
    within = f"{r.within_goal}/{r.resolved}" if r.resolved else "—"
    return [duration(r.mean) + {True: " ✓", False: " ✗", None: ""}[r.meets_goal], within, str(r.open)]


def summary_lines(report: Report) -> list[str]:
    """The headline: the period, what came, whom it woke, and the MTTR against the goal."""
    scope = f"team {report.total.name} ({report.team})" if report.team else "all teams"
    t, r = report.total.tally, report.total.resolution
    lines = [
        f"On-call health, {scope}: {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} ({report.zone})",
    ]
    if report.empty:
        lines.append("No failure was routed in this period.")
        return lines
    lines.append(
        f"{t.alerts} failure{_s(t.alerts)}: {t.paged} paged, {t.held} held in Slack for the morning; "
        f"{t.repeats} repeat{_s(t.repeats)} coalesced, {t.grouped} grouped into another pipeline's incident"
    )
    lines.append(
        f"{t.pages} page{_s(t.pages)}: {t.off_hours} outside working hours "
        f"({t.night} at night, {t.weekend} on a weekend, {t.holiday} on a public holiday)"
    )
    if r.mean is None:
        verdict = "nothing resolved yet"
    else:
        verdict = f"MTTR {duration(r.mean)}, {'within' if r.meets_goal else 'over'} the goal of {duration(report.goal)}"
        verdict += f"; median {duration(r.median)}, p90 {duration(r.p90)}, longest {duration(r.longest)}"
    lines.append(
        f"Time to resolve: {verdict}; {r.within_goal} of {r.resolved} resolved within the goal"
        + (f"; {r.open} still open, {r.open_over_goal} of them past the goal" if r.open else "")
    )
    return lines


def _table(title: str, columns: tuple[Column, ...], rows: list[list[str]]) -> Table:
    return Table(
        [c.title for c in columns],
        rows,
        title=title,
        keep_title=True,
        right=[i for i, c in enumerate(columns) if not c.left],
        optional={i: c.drop for i, c in enumerate(columns) if c.drop},
    )


def report_tables(report: Report) -> list[Table]:
    """The report's tables: teams, then (when there is anything) the noisiest pipelines and
    failures, and the people."""
    tables = [
        _table(
            "Teams",
            (Column("Team", left=True), *TALLY_COLUMNS, *RESOLUTION_COLUMNS),
            [[row.name, *_tally(row.tally), *_resolution(row.resolution)] for row in report.teams],
        )
    ]
    if report.pipelines:
        tables.append(
            _table(
                "Noisiest pipelines",
                (*PIPELINE_COLUMNS, *TALLY_COLUMNS, *RESOLUTION_COLUMNS),
                [
                    [row.pipeline or "(unmatched)", row.team, row.tier or "—", *_tally(row.tally), *_resolution(row.resolution)]
                    for row in report.pipelines
                ],
            )
        )
    if report.failures:
        tables.append(_table("Noisiest failures", FAILURE_COLUMNS, [_failure(row) for row in report.failures]))
    if report.people:
        tables.append(
            _table("People: pages and on-call hours (from fairness)", PERSON_COLUMNS, [_person(row) for row in report.people])
        )
    return tables


def render_text(report: Report, *, width: int | None, boxed: bool = False, color: bool = False) -> str:
    """The report as text, fitted to ``width`` (None: no limit): the summary, the tables as
    every command draws them (boxed on a terminal, plain columns for a pipe), the legend."""
    from opsctl.answers.tables import BOX_WIDTH, render

    text_width = width or (BOX_WIDTH if boxed else None)
    parts = [_wrap(summary_lines(report), text_width), "\n", render(report_tables(report), boxed=boxed, color=color, width=width)]
    if not report.empty:
        parts.append("\n" + _wrap([LEGEND.format(goal=duration(report.goal))], text_width))
    return "".join(parts)


def _wrap(paragraphs: list[str], width: int | None) -> str:
    return "".join(f"{line}\n" for text in paragraphs for line in (wrap(text, width) if width else [text]))


def _failure(row: FailureRow) -> list[str]:
    return [
        row.pipeline or f"({row.team})",
        str(row.tally.alerts),
        str(row.tally.repeats),
        str(row.tally.grouped),
        str(row.tally.pages),
        duration(row.resolution.mean),
        str(row.resolution.open),
        row.summary,
    ]


def _person(row: PersonRow) -> list[str]:
    rate = row.oncall_pages_per_week
    return [
        f"{row.name} ({row.person})",
        str(row.pages),
        str(row.as_owner),
        str(row.as_oncall),
        str(row.as_lead),
        str(row.off_hours),
        str(row.night),
        str(row.weekend),
        str(row.holiday),
        f"{row.oncall_hours:.0f}",
        "—" if rate is None else f"{rate:.1f}",
        "; ".join(row.flags),
    ]


def _s(count: int) -> str:
    return "" if count == 1 else "s"
