"""The OpenAPI 3.1 document of the router's own API, served at ``/openapi.json``.

Written by hand next to the parsers it describes; ``tests/test_router_fuzz.py`` feeds it to
schemathesis, which checks every answer against it.
"""

from __future__ import annotations

from typing import Any

from opsctl import __version__

_ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string", "description": "A stable token: unauthorized, invalid-payload, too-large, ..."},
        "message": {"type": "string", "description": "What is wrong, in a sentence."},
        "status": {"type": "integer"},
    },
}

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}

_BODIES: dict[str, dict[str, Any]] = {
    "alertmanager": {
        "type": "object",
        "required": ["alerts"],
        "properties": {
            "version": {"type": "string", "enum": ["4"]},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "receiver": {"type": "string"},
            "groupKey": {"type": "string"},
            "truncatedAlerts": {"type": "integer"},
            "groupLabels": _STRINGS,
            "commonLabels": _STRINGS,
            "commonAnnotations": _STRINGS,
            "externalURL": {"type": "string"},
            "alerts": {
                "type": "array",
                "maxItems": 1000,
                "items": {
                    "type": "object",
                    "required": ["labels", "status"],
                    "properties": {
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "labels": _STRINGS,
                        "annotations": _STRINGS,
                        "startsAt": {"type": "string"},
                        "endsAt": {"type": "string"},
                        "generatorURL": {"type": "string"},
                        "fingerprint": {"type": "string"},
                    },
                },
            },
        },
    },
    "dbt-cloud": {
        "type": "object",
        "required": ["eventId", "eventType", "data"],
        "properties": {
            "accountId": {"type": ["integer", "string"]},
            "eventId": {"type": "string", "minLength": 1},
            "eventType": {"type": "string", "enum": ["job.run.started", "job.run.completed", "job.run.errored"]},
            "timestamp": {"type": "string"},
            "data": {
                "type": "object",
                "required": ["jobId"],
                "properties": {
                    "jobId": {"type": ["string", "integer"]},
                    "jobName": {"type": "string"},
                    "runId": {"type": ["string", "integer"]},
                    "runStatus": {"type": "string"},
                    "runStatusCode": {"type": "integer"},
                    "runStatusMessage": {"type": "string"},
                },
            },
        },
    },
    "airflow": {
        "type": "object",
        "required": ["dag_id"],
        "properties": {
            "dag_id": {"type": "string", "minLength": 1},
            "task_id": {"type": "string"},
            "run_id": {"type": "string"},
            "try_number": {"type": "integer"},
            "state": {
                "type": "string",
                "enum": ["failed", "success", "up_for_retry", "up_for_reschedule", "skipped", "running", "queued"],
            },
            "logical_date": {"type": "string"},
            "log_url": {"type": "string"},
            "exception": {"type": "string"},
            "event_id": {"type": "string"},
            "pipeline": {"type": "string"},
            "team": {"type": "string"},
        },
    },
    "great-expectations": {
        "type": "object",
        "required": ["suite", "success"],
        "properties": {
            "suite": {"type": "string", "minLength": 1},
            "success": {"type": "boolean"},
            "asset": {"type": "string"},
            "checkpoint": {"type": "string"},
            "run_id": {"type": "string"},
            "run_time": {"type": "string"},
            "data_docs_url": {"type": "string"},
            "event_id": {"type": "string"},
            "pipeline": {"type": "string"},
            "team": {"type": "string"},
            "failed_expectations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"type": "string"}, "column": {"type": "string"}, "kwargs": {"type": "object"}},
                },
            },
        },
    },
    "generic": {
        "type": "object",
        "required": ["summary"],
        "properties": {
            "summary": {"type": "string", "minLength": 1},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "pipeline": {"type": "string"},
            "team": {"type": "string"},
            "dedup_key": {"type": "string"},
            "id": {"type": "string"},
            "severity": {"type": "string"},
            "labels": _STRINGS,
            "dag_id": {"type": "string"},
            "dbt_job_id": {"type": "string"},
            "expectation_suite": {"type": "string"},
            "details": {"type": "object"},
            "links": {
                "type": "array",
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "required": ["href"],
                    "properties": {"href": {"type": "string"}, "text": {"type": "string"}},
                },
            },
        },
    },
}
_BODIES["grafana"] = {
    **_BODIES["alertmanager"],
    "properties": {**_BODIES["alertmanager"]["properties"], "version": {"type": "string"}, "orgId": {"type": "integer"}},
}

_AUTH = {
    "alertmanager": "Bearer token OPSCTL_WEBHOOK_TOKEN_ALERTMANAGER (or Basic with the token as password).",
    "grafana": "X-Grafana-Alerting-Signature: hex HMAC-SHA256 of `<timestamp>:<body>` with OPSCTL_GRAFANA_WEBHOOK_SECRET, "
    "X-Grafana-Alerting-Timestamp within 300 s; and/or Bearer token OPSCTL_WEBHOOK_TOKEN_GRAFANA.",
    "dbt-cloud": "Authorization: hex HMAC-SHA256 of the raw body with OPSCTL_DBT_WEBHOOK_SECRET.",
    "airflow": "Bearer token OPSCTL_WEBHOOK_TOKEN_AIRFLOW.",
    "great-expectations": "Bearer token OPSCTL_WEBHOOK_TOKEN_GREAT_EXPECTATIONS.",
    "generic": "Bearer token OPSCTL_WEBHOOK_TOKEN_GENERIC.",
}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "Not JSON.",
        401: "Missing or wrong token or signature, or a timestamp outside the window.",
        404: "Unknown path.",
        413: "Body over the size cap.",
        415: "Not sent as JSON.",
        422: "JSON, but not the source's shape; the message names the field.",
        500: "Internal error.",
    }
    return {
        str(status): {
            "description": words[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _accept(source: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"post_{source.replace('-', '_')}_alert",
            "summary": f"Accept a {source} alert",
            "description": f"Stored durably (fsynced) before the answer. Authentication: {_AUTH[source]}",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Names the notification; a repeat with the same key is a duplicate.",
                }
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _BODIES[source]}}},
            "responses": {
                "202": {
                    "description": "Stored; delivery follows.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
                },
                "200": {
                    "description": "Valid, but nothing to route (e.g. a dbt run that started).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ignored"}}},
                },
                **_errors(400, 401, 413, 415, 422),
            },
        }
    }


def _get(
    summary: str, content: dict[str, Any], parameters: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = ()
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": content}, **_errors(*errors)},
    }
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def document() -> dict[str, Any]:
    json_object = {"application/json": {"schema": {"type": "object"}}}
    query = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
        for name, text in (
            ("team", "Only this team's rotations."),
            ("pipeline", "A pipeline's owners and on-call."),
            ("at", "An instant instead of now."),
        )
    ]
    paths: dict[str, Any] = {f"/v1/alerts/{source}": _accept(source) for source in _BODIES}
    paths.update(
        {
            "/healthz": _get("The process answers.", json_object),
            "/readyz": {
                "get": {
                    "summary": "Org loaded, database writable, delivery worker alive.",
                    "responses": {
                        "200": {"description": "Ready", "content": json_object},
                        "503": {"description": "Not ready; `problems` says why.", "content": json_object},
                    },
                }
            },
            "/metrics": _get("Prometheus metrics.", {"text/plain": {"schema": {"type": "string"}}}),
            "/v1/oncall": _get(
                "Who is on call (the JSON of `opsctl whoisoncall --format json`).",
                {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
                query,
                (400,),
            ),
            "/calendars/{rotation}.ics": _get(
                "A rotation's on-call calendar (iCalendar), from a week ago to `weeks` ahead.",
                {"text/calendar": {"schema": {"type": "string"}}},
                [
                    {"name": "rotation", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "weeks",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 104},
                    },
                ],
                (400, 404),
            ),
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "opsctl alert router",
            "version": __version__,
            "description": "Alerts in; pages and Slack messages out, durably.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Accepted": {
                    "type": "object",
                    "required": ["status", "alerts"],
                    "properties": {
                        "status": {"const": "accepted"},
                        "alerts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "duplicate", "pipeline", "team", "pages", "dedup_key", "note"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "duplicate": {"type": "boolean"},
                                    "pipeline": {"type": ["string", "null"]},
                                    "team": {"type": "string"},
                                    "pages": {"type": "boolean"},
                                    "dedup_key": {"type": "string"},
                                    "note": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Ignored": {
                    "type": "object",
                    "required": ["status", "reason"],
                    "properties": {"status": {"const": "ignored"}, "reason": {"type": "string"}},
                },
            }
        },
    }
