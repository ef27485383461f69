"""dbt Cloud job webhooks: ``job.run.errored`` pages, a successful ``job.run.completed`` resolves.

The failure is the job (not the run): while a job keeps failing, later runs add to the
same incident, and its next successful run closes it. ``eventId`` identifies the
notification, so dbt Cloud's retries of it are duplicates.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Alert, Identifiers, Parsed
from opsctl.router.errors import BadPayload
from opsctl.router.sources import Signature, Source
from opsctl.router.sources.json_schema import ID, INTEGER, OPTIONAL_ID, TEXT, body, optional
from opsctl.router.sources.shape import first_line, ident, integer, obj, required_text, text

EVENT_TYPES = ("job.run.started", "job.run.completed", "job.run.errored")
SUCCESS, ERROR, CANCELLED = 10, 20, 30


def parse(data: Any) -> Parsed:
    body = obj(data, "the body")
    event_type = required_text(body, "eventType", "body")
    if event_type not in EVENT_TYPES:
        raise BadPayload(f"eventType must be one of {', '.join(EVENT_TYPES)}, not {event_type!r}")
    event_id = required_text(body, "eventId", "body")
    run = obj(body.get("data"), "data")
    job_id = ident(run, "jobId", "data", required=True)
    assert job_id is not None
    run_id = ident(run, "runId", "data")
    code = integer(run, "runStatusCode", "data")
    run_status = text(run, "runStatus", "data") or ""
    job_name = text(run, "jobName", "data")
    message = first_line(text(run, "runStatusMessage", "data"))
    occurred = text(run, "runErroredAt", "data") or text(body, "timestamp", "body")
    account = ident(body, "accountId", "body") or ""
    if event_type == "job.run.started":
        return Parsed(ignored="job.run.started: a run that starts is nothing to page")
    if event_type == "job.run.completed" and (code == CANCELLED or run_status.lower() == "cancelled"):
        return Parsed(ignored="the run was cancelled: nothing to page or resolve")
    succeeded = event_type == "job.run.completed" and (code == SUCCESS or run_status.lower() == "success")
    label = f"dbt Cloud job {job_name} ({job_id})" if job_name else f"dbt Cloud job {job_id}"
    outcome = "succeeded" if succeeded else "failed"
    summary = f"{label}: run {run_id or '?'} {outcome}" + (f": {message}" if message and message != "None" else "")
    return Parsed(
        (
            Alert(
                source="dbt-cloud",
                status="resolved" if succeeded else "firing",
                summary=summary,
                event_key=event_id,
                failure_key=f"dbt-cloud:{account}:job:{job_id}",
                ids=Identifiers(dbt_job_id=job_id, names=(job_name,) if job_name else ()),
                occurred_at=occurred,
                details={
                    key: run[key]
                    for key in ("jobId", "jobName", "runId", "environmentName", "projectName", "runStatus", "runStatusMessage")
                    if key in run
                }
                | {"eventType": event_type},
            ),
        )
    )


SOURCE = Source(
    name="dbt-cloud",
    title="dbt Cloud",
    order=30,
    parse=parse,
    body_schema=body(
        ["eventId", "eventType", "data"],
        {
            "accountId": OPTIONAL_ID,
            "eventId": TEXT,
            "eventType": {"enum": list(EVENT_TYPES)},
            **optional("timestamp"),
            "data": {
                "type": "object",
                "required": ["jobId"],
                "properties": {
                    "jobId": ID,
                    "runId": OPTIONAL_ID,
                    "runStatusCode": INTEGER,
                    **optional("jobName", "runStatus", "runStatusMessage", "runErroredAt"),
                },
            },
        },
    ),
    docs="dbt Cloud",
    signature=Signature("body-hmac", "OPSCTL_DBT_WEBHOOK_SECRET"),
    looks_like=lambda data: isinstance(data, dict) and "eventType" in data and isinstance(data.get("data"), dict),
)
