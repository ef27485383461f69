"""The report's charts as inline SVG, for the runbook site: no script, no download, no library.

Each chart is one ``<svg>`` element sized by its ``viewBox`` (it scales to the page's
width), coloured with the site's CSS variables (so it follows the light and dark themes,
with plain colours as fallbacks where those are not defined), titled and described for
screen readers, and with a tooltip (``<title>``) on every bar. The output depends on the
report only, so a render is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from opsctl.health.report import Report
from opsctl.model.spelling import format_duration

WIDTH = 720
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:11px"
IN_HOURS = "var(--accent,#1f5fbf)"
OFF_HOURS = "var(--warn-fg,#b7791f)"
REPEATS = "var(--muted,#5b6475)"
GROUPED = "var(--ok-fg,#1b5e33)"
GOAL = "var(--bad-fg,#8a1c1c)"
INK = "var(--muted,#5b6475)"
GRID = "var(--line,#dde2ea)"


@dataclass(frozen=True)
class Key:
    """One colour of a chart: its name in the legend and how its value reads in a tooltip."""

    name: str
    colour: str
    words: str
    """``{n} pages in working hours``: ``{n}`` is the value."""


def _number(value: float) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _rect(x: float, y: float, w: float, h: float, colour: str, tip: str = "") -> str:
    inner = f"<title>{escape(tip)}</title>" if tip else ""
    box = f'x="{_number(x)}" y="{_number(y)}" width="{_number(w)}" height="{_number(h)}"'
    return f'<rect {box} style="fill:{colour}">{inner}</rect>' if inner else f'<rect {box} style="fill:{colour}"/>'


def _line(x1: float, x2: float, y: float, style: str, tip: str = "") -> str:
    inner = f"<title>{escape(tip)}</title></line>" if tip else ""
    ends = f'x1="{_number(x1)}" x2="{_number(x2)}" y1="{_number(y)}" y2="{_number(y)}" style="{style}"'
    return f"<line {ends}>{inner}" if inner else f"<line {ends}/>"


def _text(x: float, y: float, text: str, *, anchor: str = "start", colour: str = INK, tip: str = "") -> str:
    where = f'x="{_number(x)}" y="{_number(y)}"' + (f' text-anchor="{anchor}"' if anchor != "start" else "")
    inner = f"<title>{escape(tip)}</title>" if tip else ""
    return f'<text {where} style="fill:{colour}">{inner}{escape(text)}</text>'


def nice_ceiling(value: float, *, whole: bool = False) -> tuple[float, float]:
    """A round top for an axis reaching ``value``, and its tick step (1, 2 or 5 times a power
    of ten; ``whole``: at least 1, for counts)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw - 1e-12)
    if whole:
        step = max(step, 1.0)
    return step * math.ceil(value / step - 1e-9), step


def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {_number(height)}" role="img"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" style="{FONT};max-width:100%;height:auto">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return head + "".join(body) + "</svg>"


def _legend(keys: Sequence[Key], y: float, goal: str = "") -> list[str]:
    parts, x = [], 48.0
    for key in keys:
        parts += [_rect(x, y - 9, 10, 10, key.colour), _text(x + 14, y, key.name)]
        x += 28 + 6.5 * len(key.name)
    if goal:
        parts.append(_text(x, y, f"– – {goal}", colour=GOAL))
    return parts


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[Key, Sequence[float]]],
    *,
    tick: Callable[[float], str] = _number,
    whole: bool = False,
    goal: tuple[float, str] | None = None,
) -> str:
    """Stacked columns, one per label, over a y axis whose values ``tick`` writes (``whole``:
    counts, ticked in whole numbers); ``goal`` (value, words) draws a dashed line."""
    height, top, bottom, left, right = 240.0, 30.0, 34.0, 48.0, 12.0
    plot_h, plot_w, floor = height - top - bottom, WIDTH - left - right, height - bottom
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    ceiling, step = nice_ceiling(max([*totals, goal[0] if goal else 0.0]), whole=whole)
    body = _legend([key for key, _ in series], top - 12, goal[1] if goal else "")
    for n in range(round(ceiling / step) + 1):
        y = floor - n * step / ceiling * plot_h
        body += [_line(left, WIDTH - right, y, f"stroke:{GRID}"), _text(left - 6, y + 4, tick(n * step), anchor="end")]
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1.0)
    every = max(math.ceil(len(labels) / 12), 1)
    for i, label in enumerate(labels):
        x, base = left + i * slot + (slot - bar) / 2, floor
        tip = f"{label}: " + ", ".join(key.words.format(n=tick(values[i])) for key, values in series)
        for key, values in series:
            h = values[i] / ceiling * plot_h
            if h > 0:
                base -= h
                body.append(_rect(x, base, bar, h, key.colour, tip))
        if i % every == 0:
            body.append(_text(x + bar / 2, floor + 14, label, anchor="middle"))
    if goal is not None:
        y = floor - goal[0] / ceiling * plot_h
        body.append(_line(left, WIDTH - right, y, f"stroke:{GOAL};stroke-width:1.5;stroke-dasharray:6 4", goal[1]))
    body.append(_line(left, WIDTH - right, floor, f"stroke:{INK}"))
    return _svg(chart_id, height, title, desc, body)


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    keys: Sequence[Key],
    rows: Sequence[tuple[str, Sequence[float], str]],
) -> str:
    """Stacked horizontal bars, one per row of (label, a value per key, a note after the bar)."""
    left, right, top, row_h = 190.0, 170.0, 30.0, 22.0
    height = top + row_h * max(len(rows), 1) + 10
    plot_w = WIDTH - left - right
    ceiling = max([sum(values) for _, values, _ in rows] + [1.0])
    body = _legend(keys, top - 12)
    for i, (label, values, note) in enumerate(rows):
        y = top + i * row_h + 4
        shown = label if len(label) <= 30 else label[:29] + "…"
        body.append(_text(left - 8, y + 11, shown, anchor="end", tip=label if shown != label else ""))
        x = left
        tip = f"{label}: " + ", ".join(key.words.format(n=_count(value)) for key, value in zip(keys, values, strict=True))
        for key, value in zip(keys, values, strict=True):
            w = value / ceiling * plot_w
            if w > 0:
                body.append(_rect(x, y, w, 14, key.colour, tip))
                x += w
        body.append(_text(x + 6, y + 11, note))
    if not rows:
        body.append(_text(left, top + 15, "nothing in this period"))
    return _svg(chart_id, height, title, desc, body)


def _count(value: float) -> str:
    return str(round(value))


def _day(day: date, bucket: str) -> str:
    return f"{day.day} {day:%b}" if bucket == "day" else f"wk {day.day} {day:%b}"


def _hours(value: float) -> str:
    return "0" if value <= 0 else format_duration(timedelta(hours=value))


# -- the report's charts ---------------------------------------------------------------------


IN_HOURS_KEY = Key("in working hours", IN_HOURS, "{n} in working hours")
OFF_HOURS_KEY = Key("outside working hours", OFF_HOURS, "{n} outside")


def pages_chart(report: Report) -> str:
    labels = [_day(b.start, report.bucket) for b in report.series]
    series = (
        (IN_HOURS_KEY, [float(b.pages_in_hours) for b in report.series]),
        (OFF_HOURS_KEY, [float(b.pages_off_hours) for b in report.series]),
    )
    total = report.total.tally
    desc = (
        f"Pages per {report.bucket} from {report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}: {total.pages} in all, "
        f"{total.off_hours} outside the paged person's working hours."
    )
    return column_chart("pages", f"Pages per {report.bucket}", desc, labels, series, whole=True)


def resolve_chart(report: Report) -> str:
    labels = [_day(b.start, report.bucket) for b in report.series]
    hours = [b.mean_to_resolve.total_seconds() / 3600 if b.mean_to_resolve else 0.0 for b in report.series]
    r = report.total.resolution
    goal = format_duration(report.goal)
    desc = (
        f"Mean time to resolve the failures that paged, per {report.bucket} they came, against the goal of {goal}; "
        f"{r.within_goal} of {r.resolved} resolved within it."
    )
    key = Key("mean time to resolve", IN_HOURS, "mean time to resolve {n}")
    goal_line = (report.goal.total_seconds() / 3600, f"goal {goal}")
    return column_chart("mttr", "Time to resolve", desc, labels, [(key, hours)], tick=_hours, goal=goal_line)


def people_chart(report: Report) -> str:
    rows = [
        (
            f"{row.name} ({row.person})",
            [float(row.pages - row.off_hours), float(row.off_hours)],
            f"{row.pages} page{'' if row.pages == 1 else 's'} · {row.oncall_hours:.0f} h on call",
        )
        for row in report.people
    ]
    desc = "Pages per person, beside the hours each was on call in the period (as opsctl fairness counts them)."
    return bar_chart("people", "Pages per person, and hours on call", desc, (IN_HOURS_KEY, OFF_HOURS_KEY), rows)


def pipelines_chart(report: Report, limit: int = 10) -> str:
    rows = [
        (
            row.pipeline or row.name,
            [float(row.tally.alerts), float(row.tally.repeats), float(row.tally.grouped)],
            f"{row.tally.noise} alert{'' if row.tally.noise == 1 else 's'} · {row.tally.pages} paged",
        )
        for row in report.pipelines[:limit]
    ]
    keys = (
        Key("failures", IN_HOURS, "{n} failures"),
        Key("repeats coalesced", REPEATS, "{n} repeats"),
        Key("grouped", GROUPED, "{n} grouped"),
    )
    desc = "The noisiest pipelines: their failures, the repeats coalesced into them and the alerts grouped into them."
    return bar_chart("pipelines", "Noisiest pipelines", desc, keys, rows)


def charts(report: Report) -> dict[str, str]:
    """Every chart of the report's page: name → SVG."""
    return {
        "pages": pages_chart(report),
        "mttr": resolve_chart(report),
        "people": people_chart(report),
        "pipelines": pipelines_chart(report),
    }
