"""One routed failure, as the alert router's store reads it back for the health report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

OWNER_ROLES = ("pipeline_primary", "pipeline_secondary")
ONCALL_ROLES = ("oncall_primary", "oncall_secondary")


@dataclass(frozen=True)
class Page:
    """One person paged for a failure."""

    person: str
    """The person's id."""
    at: datetime
    """When the router paged them (aware)."""
    role: str = ""
    """Their step in the escalation chain: ``pipeline_primary``, ``oncall_primary``, ``lead``, …"""


@dataclass(frozen=True)
class AlertRecord:
    """One failure the router routed, from its first alert until its resolve.

    Alerts about a failure that is already open are not records of their own: they are
    counted in :attr:`repeats` (the same failure again) or :attr:`grouped` (another
    pipeline's failure attached to this one's incident because they share a data source).
    """

    received_at: datetime
    """When the first alert came (aware): the instant the router routed it at."""
    resolved_at: datetime | None
    """When the resolve came; None while the failure is open."""
    source: str
    """The sender: ``airflow``, ``alertmanager``, ``dbt-cloud``, …"""
    pipeline: str | None
    """The pipeline it matched; None for an alert that matched none (it went to the default team)."""
    team: str
    """The team it was routed to."""
    key: str
    """The failure's key (the PagerDuty dedup key): every alert of the same failure shares it."""
    summary: str
    """The first alert's summary."""
    tier: str | None = None
    """The pipeline's tier when it was routed."""
    severity: str | None = None
    """The severity the source gave, if any."""
    urgency: str = "high"
    """The urgency it paged with: ``high`` or ``low``."""
    paged: bool = True
    """True when it paged; False when it was only posted to Slack (a working-hours tier at night)."""
    pages: tuple[Page, ...] = ()
    """The people paged, in order, each with when."""
    repeats: int = 0
    """Alerts of the same failure while it was open, coalesced into it (they paged nobody again)."""
    grouped: int = 0
    """Other pipelines' failures attached to it for a shared data source (they paged nobody)."""
    grouped_pipelines: tuple[str, ...] = ()
    """The pipelines of those attached failures."""

    @property
    def time_to_resolve(self) -> timedelta | None:
        return None if self.resolved_at is None else max(self.resolved_at - self.received_at, timedelta(0))
