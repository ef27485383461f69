"""The OpenAPI 3.1 document of the router's own API, served at ``/openapi.json``.

Written by hand next to the parsers it describes; ``tests/test_router_fuzz.py`` feeds it to
schemathesis, which checks every answer against it.
"""

from __future__ import annotations

from typing import Any

from opsctl import __version__
from opsctl.router.sources.shape import MAX_TEXT

_ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string", "description": "A stable token: unauthorized, invalid-payload, too-large, ..."},
        "message": {"type": "string", "description": "What is wrong, in a sentence."},
        "status": {"type": "integer"},
    },
}

# The bodies below say exactly what the parsers in opsctl.router.sources accept: the fuzz
# test holds the two together (a schema-valid alert is accepted, a schema-invalid one refused).
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
_OPTIONAL = {"type": ["string", "null"], "maxLength": MAX_TEXT}
_ID = {"anyOf": [{"type": "integer"}, _TEXT]}
_OPTIONAL_ID = {"anyOf": [{"type": "integer"}, _OPTIONAL]}
_INTEGER = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}, {"type": "null"}]}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_TEXT}}
_OPTIONAL_MAP = {**_STRING_MAP, "type": ["object", "null"]}


def _enum(*values: str) -> dict[str, Any]:
    return {"enum": [*values, None]}


def _optional(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names, _OPTIONAL)


def _alertmanager(version: dict[str, Any] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "status": _enum("firing", "resolved"),
        "receiver": _OPTIONAL,
        "commonLabels": _OPTIONAL_MAP,
        "alerts": {
            "type": "array",
            "maxItems": 1000,
            "items": {
                "type": "object",
                "required": ["labels", "status"],
                "properties": {
                    "status": {"enum": ["firing", "resolved"]},
                    "labels": _STRING_MAP,
                    "annotations": _OPTIONAL_MAP,
                    **_optional("startsAt", "fingerprint", "generatorURL", "dashboardURL", "panelURL", "silenceURL"),
                },
            },
        },
    }
    if version is not None:
        properties["version"] = version
    return {"type": "object", "required": ["alerts"], "properties": properties}


_BODIES: dict[str, dict[str, Any]] = {
    "alertmanager": _alertmanager({"enum": ["4", None]}),
    "grafana": _alertmanager(None),
    "dbt-cloud": {
        "type": "object",
        "required": ["eventId", "eventType", "data"],
        "properties": {
            "accountId": _OPTIONAL_ID,
            "eventId": _TEXT,
            "eventType": {"enum": ["job.run.started", "job.run.completed", "job.run.errored"]},
            "timestamp": _OPTIONAL,
            "data": {
                "type": "object",
                "required": ["jobId"],
                "properties": {
                    "jobId": _ID,
                    "runId": _OPTIONAL_ID,
                    "runStatusCode": _INTEGER,
                    **_optional("jobName", "runStatus", "runStatusMessage", "runErroredAt"),
                },
            },
        },
    },
    "airflow": {
        "type": "object",
        "required": ["dag_id"],
        "properties": {
            "dag_id": _TEXT,
            "try_number": _INTEGER,
            "state": _enum("failed", "success", "up_for_retry", "up_for_reschedule", "skipped", "running", "queued"),
            **_optional("task_id", "run_id", "logical_date", "log_url", "exception", "event_id", "pipeline", "team"),
        },
    },
    "great-expectations": {
        "type": "object",
        "required": ["suite", "success"],
        "properties": {
            "suite": _TEXT,
            "success": {"type": "boolean"},
            "failed_expectations": {
                "type": ["array", "null"],
                "maxItems": 1000,
                "items": {"type": "object", "required": ["type"], "properties": {"type": _TEXT, "column": _OPTIONAL}},
            },
            **_optional("asset", "checkpoint", "run_id", "run_time", "data_docs_url", "event_id", "pipeline", "team"),
        },
    },
    "generic": {
        "type": "object",
        "required": ["summary"],
        "properties": {
            "summary": _TEXT,
            "status": _enum("firing", "resolved"),
            "id": _OPTIONAL_ID,
            "dbt_job_id": _OPTIONAL_ID,
            "labels": _OPTIONAL_MAP,
            "details": {"type": ["object", "null"], "description": "Anything, at most 20 levels deep."},
            "links": {
                "type": ["array", "null"],
                "maxItems": 20,
                "items": {"type": "object", "required": ["href"], "properties": {"href": _TEXT, "text": _OPTIONAL}},
            },
            **_optional("pipeline", "team", "dedup_key", "severity", "dag_id", "expectation_suite", "timestamp"),
        },
    },
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
