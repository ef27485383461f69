"""The OpenAPI 3.1 document of the router's own API, served at ``/openapi.json``.

Built from the source records (:mod:`.sources`), next to the parsers they describe; ``tests/test_router_fuzz.py`` feeds it to
schemathesis, which checks every answer against it.
"""

from __future__ import annotations

from typing import Any

from opsctl import __version__
from opsctl.router.sources import RECORDS, Source

_ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string", "description": "A stable token: unauthorized, invalid-payload, too-large, ..."},
        "message": {"type": "string", "description": "What is wrong, in a sentence."},
        "status": {"type": "integer"},
    },
}


def authentication(source: Source) -> str:
    """How ``source`` authenticates, in a sentence (the OpenAPI description of its endpoint)."""
    token = f"Bearer token {source.token_variable} (or OPSCTL_WEBHOOK_TOKEN; Basic with the token as password works too)"
    signature = source.signature
    if signature is None:
        return token + "."
    if signature.scheme == "body-hmac":
        words = f"Authorization: hex HMAC-SHA256 of the raw body with {signature.secret_variable}"
    else:
        words = (
            f"X-Grafana-Alerting-Signature: hex HMAC-SHA256 of `<timestamp>:<body>` with {signature.secret_variable}, "
            "X-Grafana-Alerting-Timestamp within 300 s"
        )
    return f"{words}; when that secret is not set, {token}." if signature.token_too else f"{words}."


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "Not JSON.",
        401: "Missing or wrong token or signature, or a timestamp outside the window.",
        408: "The request was not sent in full within the read timeout.",
        404: "Unknown path.",
        413: "Body over the size cap.",
        415: "Not sent as JSON.",
        422: "JSON, but not the source's shape; the message names the field.",
        500: "Internal error.",
        503: "The alert database cannot take the alert now (unreachable, unwritable, or its file was replaced); retry later.",
    }
    return {
        str(status): {
            "description": words[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _accept(source: Source) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"post_{source.name.replace('-', '_')}_alert",
            "summary": f"Accept an alert from {source.title}",
            "description": f"Stored durably (fsynced) before the answer. Authentication: {authentication(source)}",
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Names the notification; a repeat with the same key is a duplicate.",
                }
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": source.body_schema}}},
            "responses": {
                "202": {
                    "description": "Stored; delivery follows.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
                },
                "200": {
                    "description": "Valid, but nothing to route (e.g. a dbt run that started).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ignored"}}},
                },
                **_errors(400, 401, 408, 413, 415, 422, 503),
            },
        }
    }


def _heartbeat() -> dict[str, Any]:
    from opsctl.router.heartbeat import HEARTBEAT

    errors = _errors(400, 401, 408, 413, 415, 422, 503)
    errors["404"] = {
        "description": "No pipeline has this id or alias; the message names the nearest.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return {
        "post": {
            "operationId": "post_heartbeat",
            "summary": "Record that a pipeline ran (a heartbeat for the freshness watchdog)",
            "description": (
                "Counts as a successful run of the pipeline: it resets its freshness SLA and resolves its stale alert. "
                f"Authentication: {authentication(HEARTBEAT)}"
            ),
            "parameters": [
                {
                    "name": "pipeline",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The pipeline's id or one of its aliases.",
                }
            ],
            "requestBody": {"required": False, "content": {"application/json": {"schema": HEARTBEAT.body_schema}}},
            "responses": {
                "202": {
                    "description": "Recorded (durably, before the answer).",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Recorded"}}},
                },
                **errors,
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
    paths: dict[str, Any] = {f"/v1/alerts/{source.name}": _accept(source) for source in RECORDS}
    paths["/v1/heartbeats/{pipeline}"] = _heartbeat()
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
                "Recorded": {
                    "type": "object",
                    "required": ["status", "pipeline", "at", "resolved"],
                    "properties": {
                        "status": {"const": "recorded"},
                        "pipeline": {"type": "string", "description": "The pipeline's id."},
                        "at": {"type": "string", "description": "When it was heard from (the server's clock, UTC)."},
                        "resolved": {
                            "type": ["integer", "null"],
                            "description": "The alert that resolved its stale alert, when one was open.",
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
