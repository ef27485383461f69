"""Parsers, one per alert source: a JSON body in, :class:`~opsctl.router.alert.Parsed` out.

Pure functions: no I/O, no clock. A body that is not the source's shape raises
:class:`~opsctl.router.errors.BadPayload` naming the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsctl.router.alert import Parsed
from opsctl.router.errors import Rejected
from opsctl.router.sources import airflow, alertmanager, dbt_cloud, generic, great_expectations
from opsctl.router.sources.shape import load_json

PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "alertmanager": alertmanager.parse,
    "grafana": alertmanager.parse_grafana,
    "dbt-cloud": dbt_cloud.parse,
    "airflow": airflow.parse,
    "great-expectations": great_expectations.parse,
    "generic": generic.parse,
}
"""Source name (the last segment of ``POST /v1/alerts/{source}``) → parser."""

SOURCES = tuple(PARSERS)


def unknown_source(source: str) -> Rejected:
    from opsctl.model.spelling import did_you_mean

    return Rejected(
        f"unknown source {source!r}{did_you_mean(source, PARSERS)}; sources: {', '.join(SOURCES)}",
        status=404,
        code="unknown-source",
    )


def parse_body(source: str, body: bytes) -> Parsed:
    """Parse ``body`` as ``source`` sends it; :class:`Rejected` when it is not."""
    parser = PARSERS.get(source)
    if parser is None:
        raise unknown_source(source)
    return parser(load_json(body))


def guess_source(data: Any) -> str:
    """The source whose shape ``data`` has, for ``opsctl route`` without ``--source``."""
    if isinstance(data, dict):
        if isinstance(data.get("alerts"), list):
            return "grafana" if "orgId" in data else "alertmanager"
        if "eventType" in data and isinstance(data.get("data"), dict):
            return "dbt-cloud"
        if "dag_id" in data and "summary" not in data:
            return "airflow"
        if "suite" in data and "success" in data:
            return "great-expectations"
    return "generic"
