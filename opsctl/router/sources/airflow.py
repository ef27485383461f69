"""Airflow: the body opsctl defines for ``on_failure_callback`` and HttpNotifier.

``{"dag_id": ..., "task_id": ..., "run_id": ..., "try_number": 1, "state": "failed",
"log_url": ..., "exception": ...}``; ``state: success`` (from an ``on_success_callback``)
resolves. The failure is the DAG: its failing tasks and runs share one incident until it
succeeds again. ``integrations/airflow/opsctl_callback.py`` sends this body.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Alert, Identifiers, Link, Parsed, digest
from opsctl.router.sources import Source
from opsctl.router.sources.json_schema import INTEGER, TEXT, body, enum, optional
from opsctl.router.sources.shape import choice, first_line, integer, obj, required_text, text

STATES = ("failed", "success", "up_for_retry", "up_for_reschedule", "skipped", "running", "queued")


def parse(data: Any) -> Parsed:
    body = obj(data, "the body")
    dag_id = required_text(body, "dag_id", "body")
    task_id = text(body, "task_id", "body")
    run_id = text(body, "run_id", "body")
    try_number = integer(body, "try_number", "body")
    state = choice(body, "state", "body", STATES) or "failed"
    exception = text(body, "exception", "body")
    log_url = text(body, "log_url", "body")
    pipeline = text(body, "pipeline", "body")
    team = text(body, "team", "body")
    event_id = text(body, "event_id", "body")
    logical_date = text(body, "logical_date", "body")
    if state not in ("failed", "success"):
        return Parsed(ignored=f"state {state}: only failed and success are routed")
    what = f"task {task_id}" if task_id else "DAG run"
    if state == "success":
        summary = f"Airflow DAG {dag_id}: {what} succeeded" + (f" (run {run_id})" if run_id else "")
    else:
        tries = f", try {try_number}" if try_number else ""
        summary = f"Airflow DAG {dag_id}: {what} failed" + (f" (run {run_id}{tries})" if run_id else "")
        if exception:
            summary += f": {first_line(exception)}"
    return Parsed(
        (
            Alert(
                source="airflow",
                status="resolved" if state == "success" else "firing",
                summary=summary,
                event_key=event_id or digest("airflow", dag_id, task_id, run_id, try_number, state),
                failure_key=f"airflow:{dag_id}",
                ids=Identifiers(dag_id=dag_id, names=(pipeline,) if pipeline else (), team=team),
                occurred_at=logical_date,
                links=(Link(log_url, "Task log"),) if log_url else (),
                details={
                    key: body[key]
                    for key in ("dag_id", "task_id", "run_id", "try_number", "state", "logical_date", "exception")
                    if body.get(key) is not None
                },
            ),
        )
    )


SOURCE = Source(
    name="airflow",
    title="Airflow",
    order=40,
    parse=parse,
    body_schema=body(
        ["dag_id"],
        {
            "dag_id": TEXT,
            "try_number": INTEGER,
            "state": enum(*STATES),
            **optional("task_id", "run_id", "logical_date", "log_url", "exception", "event_id", "pipeline", "team"),
        },
    ),
    docs="Airflow",
    looks_like=lambda data: isinstance(data, dict) and "dag_id" in data and "summary" not in data,
)
