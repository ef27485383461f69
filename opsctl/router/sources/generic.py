"""Anything else with a webhook: a small body opsctl defines.

``{"summary": "...", "status": "firing"|"resolved"|"ok", "pipeline": ..., "team": ...,
"dedup_key": ..., "id": ..., "severity": ..., "labels": {...}, "dag_id": ...,
"dbt_job_id": ..., "expectation_suite": ..., "details": {...}, "links": [{"href", "text"}]}``.
``dedup_key`` names the failure (a resolve with the same key closes it; without one the
summary does; ``ok`` is ``resolved``, a run that went well); ``id`` names the notification
(a retry with the same id is a duplicate).
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Alert, Identifiers, Link, Parsed, digest
from opsctl.router.sources import Source
from opsctl.router.sources.json_schema import OPTIONAL, OPTIONAL_ID, OPTIONAL_MAP, TEXT, body, enum, optional
from opsctl.router.sources.shape import array, choice, free_object, ident, obj, required_text, string_map, text


def parse(data: Any) -> Parsed:
    body = obj(data, "the body")
    summary = required_text(body, "summary", "body")
    status = choice(body, "status", "body", ("firing", "resolved", "ok")) or "firing"
    pipeline = text(body, "pipeline", "body")
    team = text(body, "team", "body")
    failure = text(body, "dedup_key", "body") or digest(pipeline, team, summary)
    details = free_object(body, "details", "body")
    links = []
    for index, entry in enumerate(array(body, "links", "body", limit=20)):
        item = obj(entry, f"links[{index}]")
        href = required_text(item, "href", f"links[{index}]")
        links.append(Link(href, text(item, "text", f"links[{index}]") or href))
    return Parsed(
        (
            Alert(
                source="generic",
                status="resolved" if status in ("resolved", "ok") else "firing",
                summary=summary,
                event_key=ident(body, "id", "body") or digest("generic", status, failure, summary, details),
                failure_key=f"generic:{failure}",
                ids=Identifiers(
                    labels=string_map(body, "labels", "body"),
                    dag_id=text(body, "dag_id", "body"),
                    dbt_job_id=ident(body, "dbt_job_id", "body"),
                    expectation_suite=text(body, "expectation_suite", "body"),
                    names=(pipeline,) if pipeline else (),
                    team=team,
                ),
                severity=text(body, "severity", "body"),
                occurred_at=text(body, "timestamp", "body"),
                links=tuple(links),
                details=details,
            ),
        )
    )


SOURCE = Source(
    name="generic",
    title="any other sender (the generic source)",
    order=90,
    parse=parse,
    body_schema=body(
        ["summary"],
        {
            "summary": TEXT,
            "status": enum("firing", "resolved", "ok"),
            "id": OPTIONAL_ID,
            "dbt_job_id": OPTIONAL_ID,
            "labels": OPTIONAL_MAP,
            "details": {"type": ["object", "null"], "description": "Anything, at most 20 levels deep."},
            "links": {
                "type": ["array", "null"],
                "maxItems": 20,
                "items": {"type": "object", "required": ["href"], "properties": {"href": TEXT, "text": OPTIONAL}},
            },
            **optional("pipeline", "team", "dedup_key", "severity", "dag_id", "expectation_suite", "timestamp"),
        },
    ),
    docs="Anything else: the generic source",
)
