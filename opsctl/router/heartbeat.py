"""``POST /v1/heartbeats/{pipeline}``: a pipeline (a cron job, a script, anything without a
webhook) says it ran. It authenticates as the alert sources do, with its own token
(``OPSCTL_WEBHOOK_TOKEN_HEARTBEAT``, else ``OPSCTL_WEBHOOK_TOKEN``); the body is empty or
a JSON object with an optional ``note`` (written to the server's log). The freshness watchdog counts it as a success
(:func:`opsctl.router.intake.record_heard`).

:data:`HEARTBEAT` is a :class:`~opsctl.router.sources.Source` record so that the security
checks, the token variables and the OpenAPI document read it like the sources; it is not
one of :data:`~opsctl.router.sources.RECORDS` (it carries no alert).
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Parsed
from opsctl.router.sources import Source
from opsctl.router.sources.json_schema import OPTIONAL
from opsctl.router.sources.shape import load_json, obj, text

PREFIX = "/v1/heartbeats/"


def parse(data: Any) -> Parsed:
    """Check a heartbeat's body (an object, ``note`` text if given); it routes nothing."""
    body = obj(data, "the body")
    text(body, "note", "body")
    return Parsed(ignored="a heartbeat")


def read_note(body: bytes) -> str | None:
    """The heartbeat's ``note``; an empty body is a heartbeat without one."""
    if not body.strip():
        return None
    data = load_json(body)
    parse(data)
    return text(obj(data, "the body"), "note", "body")


HEARTBEAT = Source(
    name="heartbeat",
    title="heartbeats (cron jobs and scripts)",
    order=100,
    parse=parse,
    body_schema={"type": "object", "properties": {"note": OPTIONAL}},
    docs="Heartbeats: anything that runs on a schedule",
)
