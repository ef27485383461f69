"""The site's on-call health page: the ``opsctl report`` of a period, with charts in the HTML.

The page is built from a :class:`~opsctl.health.report.Report` the command computed from
the router's database; the templates (``health.html.j2``, ``health.md.j2``) see it as
``page.report`` and, in HTML, its charts as ``page.charts`` (inline SVG by name:
``pages``, ``mttr``, ``people``, ``pipelines``). Markdown has no charts: the same numbers
are in its tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from opsctl.health.report import Report

HEALTH = "health"
"""The page's stem: ``health.html`` / ``health.md`` beside the index."""


@dataclass(frozen=True)
class HealthPage:
    report: Report
    charts: Mapping[str, str] = field(default_factory=dict)
    """Chart name → inline SVG (HTML only; safe to insert as it is)."""
    stem: str = HEALTH
    title: str = "On-call health"


def health_page(report: Report, *, charts: bool) -> HealthPage:
    """The page of ``report``; ``charts``: draw the SVG charts (for HTML)."""
    if not charts:
        return HealthPage(report)
    from markupsafe import Markup

    from opsctl.health.plots import charts as draw

    return HealthPage(report, {name: Markup(svg) for name, svg in draw(report).items()})
