"""One shape for every source's alert: what matching, the outbox and delivery work on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Identifiers:
    """How an alert names what failed; matching tries them against each pipeline's ``alerts``."""

    labels: dict[str, str] = field(default_factory=dict)
    dag_id: str | None = None
    dbt_job_id: str | None = None
    expectation_suite: str | None = None
    names: tuple[str, ...] = ()
    """Pipeline ids or aliases the alert spells out (a `pipeline` label or field, a dbt job name)."""
    team: str | None = None
    """A team the sender named, for alerts that match no pipeline."""


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Alert:
    """One notification about one failure (or its recovery), from one source."""

    source: str
    status: Status
    summary: str
    event_key: str
    """Identity of this notification: a source's retry of it carries the same key (duplicate)."""
    failure_key: str
    """Identity of the failure across notifications: its trigger and its resolve share it."""
    ids: Identifiers = field(default_factory=Identifiers)
    severity: str | None = None
    occurred_at: str | None = None
    links: tuple[Link, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    """Source facts for people reading the page: labels, annotations, exception, log URL."""

    def to_json(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every value, a third of an alert's cost to store
        ids = self.ids
        return {
            "source": self.source,
            "status": self.status,
            "summary": self.summary,
            "event_key": self.event_key,
            "failure_key": self.failure_key,
            "ids": {
                "labels": ids.labels,
                "dag_id": ids.dag_id,
                "dbt_job_id": ids.dbt_job_id,
                "expectation_suite": ids.expectation_suite,
                "names": list(ids.names),
                "team": ids.team,
            },
            "severity": self.severity,
            "occurred_at": self.occurred_at,
            "links": [{"href": link.href, "text": link.text} for link in self.links],
            "details": self.details,
        }


@dataclass(frozen=True)
class Parsed:
    """What one request carries: alerts, or why there is nothing to route."""

    alerts: tuple[Alert, ...] = ()
    ignored: str = ""
    """Non-empty when the request is valid but announces nothing to page (a dbt run that started)."""


def digest(*parts: object) -> str:
    """A short stable hash of ``parts``, for keys built from several fields."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
