"""Great Expectations: the body of the checkpoint action opsctl ships.

``{"suite": ..., "success": false, "asset": ..., "checkpoint": ..., "run_id": ...,
"failed_expectations": [{"type": ..., "column": ...}], "data_docs_url": ...}``; a later
run with ``success: true`` resolves. The failure is the suite on its asset.
``integrations/great_expectations/opsctl_action.py`` sends this body.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Alert, Identifiers, Link, Parsed, digest
from opsctl.router.sources import Source
from opsctl.router.sources.json_schema import OPTIONAL, TEXT, body, optional
from opsctl.router.sources.shape import array, boolean, obj, required_text, text


def parse(data: Any) -> Parsed:
    body = obj(data, "the body")
    suite = required_text(body, "suite", "body")
    success = boolean(body, "success", "body")
    asset = text(body, "asset", "body")
    run_id = text(body, "run_id", "body")
    failed = []
    for index, entry in enumerate(array(body, "failed_expectations", "body")):
        item = obj(entry, f"failed_expectations[{index}]")
        kind = required_text(item, "type", f"failed_expectations[{index}]")
        column = text(item, "column", f"failed_expectations[{index}]")
        failed.append(f"{kind}({column})" if column else kind)
    on = f" on {asset}" if asset else ""
    if success:
        summary = f"Great Expectations suite {suite} passed{on}"
    else:
        listed = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        count = f"{len(failed)} expectation{'s' if len(failed) != 1 else ''} failed" if failed else "validation failed"
        summary = f"Great Expectations suite {suite} failed{on}: {count}" + (f" ({listed})" if listed else "")
    docs = text(body, "data_docs_url", "body")
    pipeline = text(body, "pipeline", "body")
    return Parsed(
        (
            Alert(
                source="great-expectations",
                status="resolved" if success else "firing",
                summary=summary,
                event_key=text(body, "event_id", "body") or digest("ge", suite, asset, run_id, success, failed),
                failure_key=f"great-expectations:{suite}:{asset or ''}",
                ids=Identifiers(expectation_suite=suite, names=(pipeline,) if pipeline else (), team=text(body, "team", "body")),
                occurred_at=text(body, "run_time", "body"),
                links=(Link(docs, "Data Docs"),) if docs else (),
                details={"suite": suite, "asset": asset, "checkpoint": text(body, "checkpoint", "body"), "run_id": run_id}
                | {"failed_expectations": failed},
            ),
        )
    )


SOURCE = Source(
    name="great-expectations",
    title="Great Expectations",
    order=50,
    parse=parse,
    body_schema=body(
        ["suite", "success"],
        {
            "suite": TEXT,
            "success": {"type": "boolean"},
            "failed_expectations": {
                "type": ["array", "null"],
                "maxItems": 1000,
                "items": {"type": "object", "required": ["type"], "properties": {"type": TEXT, "column": OPTIONAL}},
            },
            **optional("asset", "checkpoint", "run_id", "run_time", "data_docs_url", "event_id", "pipeline", "team"),
        },
    ),
    docs="Great Expectations",
    looks_like=lambda data: isinstance(data, dict) and "suite" in data and "success" in data,
)
