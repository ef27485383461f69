"""A fake of PagerDuty's Events API v2 (``POST /v2/enqueue``) that keeps incidents.

Every request is checked against PagerDuty's published description
(:func:`tests.fakes.specs.check_pagerduty`); one the real API would refuse gets its 400
and is recorded in ``rejected``. Accepted events get PagerDuty's 202 and act on incidents
the way PagerDuty does, by routing key and dedup key:

- ``trigger`` opens an incident, or adds an alert to the open one with the same dedup key
  (so a repeat never pages a second time; after a resolve, the next trigger opens anew);
- ``acknowledge`` and ``resolve`` change the open incident, and do nothing without one.

``pages()`` counts incidents opened, which is what a person on call feels. ``delay`` holds
each answer back (a slow PagerDuty, to catch a server mid-delivery); :meth:`outage` makes it
answer 503 for a while, as PagerDuty does when it cannot take events.

Rate limits follow PagerDuty's "Events API v2 rate limits" page
(https://developer.pagerduty.com/docs/events-api-v2/rate-limits/): 120 events a minute per
integration key; an event over that is answered 429 and not processed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request

from tests.fakes.base import FakeService, Recorded
from tests.fakes.specs import check_pagerduty

EVENTS_BASE = "https://events.pagerduty.com"
"""The description's server; requests are checked as if sent there."""


@dataclass
class Incident:
    routing_key: str
    dedup_key: str
    summary: str
    severity: str
    status: str = "triggered"
    triggers: int = 1
    events: list[dict[str, Any]] = field(default_factory=list)
    opened_at: float = field(default_factory=time.time)


class PagerDutyEventsFake(FakeService):
    """``routing_keys``: the integration keys that exist (None: any key is accepted)."""

    def __init__(
        self, routing_keys: Iterable[str] | None = None, *, delay: float = 0.0, events_per_minute: int | None = 120
    ) -> None:
        super().__init__()
        self.routing_keys = set(routing_keys) if routing_keys is not None else None
        self.delay = delay
        self.events_per_minute = events_per_minute
        self.down_until = 0.0
        self._recent: dict[str, list[float]] = {}
        self.incidents: list[Incident] = []
        self.events: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.arrivals: list[float] = []
        """When each request of ``requests`` came in (after ``delay``), for pacing checks."""

    def outage(self, seconds: float) -> None:
        """Answer every event 503 for ``seconds`` from now (PagerDuty's Events API answers 5xx
        while it cannot take events; the sender is to retry with back-off: "Response codes &
        retry logic", https://developer.pagerduty.com/docs/events-api-v2/overview/)."""
        self.down_until = time.monotonic() + seconds

    def throttled(self) -> int:
        """Events answered 429."""
        return sum(1 for r in self.requests if r.status == 429)

    # -- what tests look at ------------------------------------------------------------

    def open_incident(self, dedup_key: str, routing_key: str | None = None) -> Incident | None:
        for incident in reversed(self.incidents):
            same_key = routing_key is None or incident.routing_key == routing_key
            if incident.dedup_key == dedup_key and incident.status != "resolved" and same_key:
                return incident
        return None

    def pages(self, dedup_key: str | None = None) -> int:
        """Incidents opened (all of them, or those of one dedup key)."""
        return sum(1 for i in self.incidents if dedup_key is None or i.dedup_key == dedup_key)

    def by_dedup_key(self) -> dict[str, list[Incident]]:
        out: dict[str, list[Incident]] = {}
        for incident in self.incidents:
            out.setdefault(incident.dedup_key, []).append(incident)
        return out

    # -- serving -----------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Any:
        if self.delay:
            time.sleep(self.delay)  # outside the lock: requests wait, state stays consistent
        with self.lock:
            self.arrivals.append(time.monotonic())
            return super()._dispatch(request)

    def handle(self, recorded: Recorded, request: Request) -> tuple[int, Any, dict[str, str]]:
        if recorded.method != "POST" or recorded.path != "/v2/enqueue":
            return 404, {"status": "Not found", "message": f"no route {recorded.method} {recorded.path}"}, {}
        body = recorded.body
        why = check_pagerduty("events", EVENTS_BASE, "POST", "/v2/enqueue", recorded.params, recorded.headers, body)
        if why is None and body.get("event_action") != "trigger" and not body.get("dedup_key"):
            why = "dedup_key is required unless event_action is trigger"
        if why is None and body.get("event_action") == "trigger" and not isinstance(body.get("payload"), dict):
            why = "payload is required for trigger events"
        if why is not None:
            self.reject(recorded, why)
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": [why]}, {}
        routing_key = body["routing_key"]
        if time.monotonic() < self.down_until:
            return 503, {"status": "unavailable", "message": "PagerDuty cannot take events right now"}, {}
        if self.events_per_minute is not None:
            # 120 events per minute per integration key (see the module docstring)
            now = time.monotonic()
            recent = [t for t in self._recent.get(routing_key, []) if now - t < 60.0]
            if len(recent) >= self.events_per_minute:
                self._recent[routing_key] = recent
                return 429, {"status": "throttle", "message": "Requests for this service are arriving too quickly."}, {}
            self._recent[routing_key] = [*recent, now]
        if self.routing_keys is not None and routing_key not in self.routing_keys:
            self.reject(recorded, "unknown routing key")
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["Invalid routing key"]}, {}
        self.events.append(body)
        self.received_at.append(time.time())
        action = body["event_action"]
        dedup_key = body.get("dedup_key") or uuid.uuid4().hex
        incident = self.open_incident(dedup_key, routing_key)
        if action == "trigger":
            if incident is None:
                payload = body["payload"]
                incident = Incident(routing_key, dedup_key, payload["summary"], payload["severity"])
                self.incidents.append(incident)
            else:
                incident.triggers += 1
        elif incident is not None:
            incident.status = "acknowledged" if action == "acknowledge" else "resolved"
        if incident is not None:
            incident.events.append(body)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, {}
