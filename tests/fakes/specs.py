"""The vendors' published API descriptions, and checks of requests against them.

- PagerDuty REST and Events API v2: OpenAPI 3 documents, checked with openapi-core
  (the REST document is loaded with the spec validator off: one of its parameter defaults,
  ``'20 - incident_summary'``, fails openapi-core's strict check; see tests/specs/README.md).
- Slack Web API: a Swagger 2.0 document; each method's required parameters and OAuth
  scopes are taken from it. Where the document marks no parameter required but Slack's
  method reference does (``conversations.setTopic`` needs ``channel`` and ``topic``…), the
  gap is filled from :data:`SLACK_REQUIRED_SUPPLEMENT`, so the fake rejects what Slack rejects.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parents[1] / "specs"
"""``tests/specs``: the descriptions and sample payloads, with where each came from (its README)."""
PAGERDUTY_REST = SPECS / "pagerduty" / "rest-openapiv3.json"
PAGERDUTY_EVENTS = SPECS / "pagerduty" / "events-v2-openapiv3.json"
SLACK_WEB = SPECS / "slack" / "web-openapi-v2.json"

SLACK_SCOPE_EQUIVALENTS = {"chat:write:bot": "chat:write", "chat:write:user": "chat:write"}
"""The 2021 description lists classic scopes; today's bot tokens hold the granular `chat:write`."""

SLACK_REQUIRED_SUPPLEMENT: dict[str, list[str]] = {
    "conversations.setTopic": ["channel", "topic"],
    "conversations.history": ["channel"],
    "conversations.info": ["channel"],
    "conversations.open": [],  # `channel` or `users`, checked by the fake
}


@functools.cache
def pagerduty_openapi(which: str) -> Any:
    """An openapi-core ``OpenAPI`` for ``rest`` or ``events``."""
    from openapi_core import Config, OpenAPI

    path = PAGERDUTY_REST if which == "rest" else PAGERDUTY_EVENTS
    document = json.loads(path.read_text("utf-8"))
    if which == "rest":
        document = writable_reference_ids(document)
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def writable_reference_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Correct one contradiction of PagerDuty's REST description, so that valid writes pass.

    Every object and every reference composes a shared base (``Tag/allOf/0``) that marks
    ``id`` and ``type`` read-only, while references require both (``Reference``:
    ``required: [type, id]``) and create bodies require ``type`` (a schedule needs
    ``type: schedule``). openapi-core enforces read-only in request bodies, so without this
    every POST and PUT that names a user, schedule or policy would be rejected, unlike the
    real API. Only those two flags change; every other check stays as published.
    """
    base = document["components"]["schemas"]["Tag"]["allOf"][0]["properties"]
    for name in ("id", "type"):
        base[name] = {k: v for k, v in base[name].items() if k != "readOnly"}
    return document


def check_pagerduty(
    which: str, base_url: str, method: str, path: str, params: dict[str, Any], headers: dict[str, str], body: Any
) -> str | None:
    """None when PagerDuty's description accepts the request, else why not (one line)."""
    from openapi_core.testing import MockRequest

    request = MockRequest(
        base_url,
        method.lower(),
        path,
        args=params,
        headers=headers,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json" if body is not None else None,
    )
    api = pagerduty_openapi(which)
    try:
        api.validate_request(request)
    except Exception as exc:  # openapi-core raises a family of errors; the message is what matters
        cause = exc.__cause__
        details = f" ({cause})" if cause is not None else ""
        return f"{type(exc).__name__}: {exc}{details}".replace("\n", " ")[:600]
    return None


@functools.cache
def slack_methods() -> dict[str, dict[str, Any]]:
    """Slack method name → {verbs, required, scopes, params}."""
    spec = json.loads(SLACK_WEB.read_text("utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for path, operations in spec["paths"].items():
        name = path.lstrip("/")
        for verb, operation in operations.items():
            parameters = operation.get("parameters", [])
            required = [p["name"] for p in parameters if p.get("required") and p["name"] != "token"]
            required += [r for r in SLACK_REQUIRED_SUPPLEMENT.get(name, []) if r not in required]
            scopes: list[str] = []
            for security in operation.get("security", []):
                scopes.extend(security.get("slackAuth", []))
            scopes += [SLACK_SCOPE_EQUIVALENTS[s] for s in scopes if s in SLACK_SCOPE_EQUIVALENTS]
            out[name] = {
                "verbs": {verb.upper()},
                "required": required,
                "scopes": [s for s in scopes if s != "none"],
                "params": {p["name"] for p in parameters},
            }
    return out
