"""The values the store reads and writes: plain frozen records, no SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any


class StoreUnavailable(Exception):
    """The alert database cannot take a write now (unreachable, unwritable, or its file was
    replaced). The intake answers 503, so the sender retries; nothing was accepted."""


@dataclass(frozen=True)
class Accepted:
    """What the server answers for one alert."""

    id: int
    duplicate: bool
    note: str
    deliveries: int
    dedup_key: str


@dataclass(frozen=True)
class Delivery:
    """An outbox row as the worker claimed it."""

    id: int
    alert_id: int
    kind: str
    action: str
    target: str
    order_key: int
    raw_body: str
    attempts: int
    """Attempts made before this one."""
    created_at: float
    unsure: bool = False
    """A previous worker claimed it and stopped (or lost its lease) before recording how
    sending went: it may have been sent."""
    claimed_at: float = 0.0

    @cached_property
    def body(self) -> dict[str, Any]:
        # decoded on use: a digest of a thousand queued messages reads the first few only
        found: dict[str, Any] = json.loads(self.raw_body)
        return found


@dataclass(frozen=True)
class AlertRow:
    id: int
    source: str
    received_at: float
    status: str
    summary: str
    pipeline: str | None
    team: str
    dedup_key: str
    note: str
    duplicates: int
    state: str
    """delivered, pending, failed or "nothing to send", from the alert's deliveries."""
    deliveries: int
    effect: str
    """opened, repeat, refresh, grouped, resolved or nothing (see :data:`opsctl.router.plan.Effect`)."""
    coalesced: int
    """Repeats of its failure counted into it while its incident was open."""
    grouped: int
    """Failures of other pipelines (or of its own) attached to its incident."""


@dataclass(frozen=True)
class RoutedAlert:
    """One alert that opened an incident or joined a group, for on-call reports.

    Repeats and resolves are not records of their own: a repeat is counted in
    ``coalesced`` of the alert whose incident it repeated, a resolve sets ``resolved_at``.
    Times are Unix seconds (UTC).
    """

    id: int
    received_at: float
    resolved_at: float | None
    """When its failure resolved; None while it is open."""
    source: str
    pipeline: str | None
    team: str
    tier: str | None
    dedup_key: str
    failure_key: str
    paged: tuple[str, ...]
    """Person ids its chain pages, in order: the first at once, each next one after its step's
    delay while nobody acknowledges. Empty when it paged nobody (held for the morning and
    never paged, or grouped). For a failure held for the morning that a later repeat paged
    (in working hours), the people that repeat's chain paged."""
    paged_at: float | None
    """When PagerDuty took its page; None when it sent none or it is not delivered yet."""
    page_now: bool
    """Its tier paged at the hour it came (else it waited in Slack for the morning)."""
    coalesced: int
    grouped: int
    group_of: int | None
    """For a grouped failure: the id of the alert whose incident it joined."""
    shared_source: str | None
    """For a group's first alert, or a failure that joined it: the data source they share."""
    summary: str = ""
    severity: str | None = None
    """The severity the source gave, if any."""
    urgency: str = "high"
    routed_at: float = 0.0
    """The instant its escalation chain was computed for (the routing instant)."""
    roles: tuple[str, ...] = ()
    """The chain roles of ``paged``, in the same order (``pipeline_primary``, ``oncall_primary``, …)."""
    paged_routed_at: float | None = None
    """The routing instant of the page: ``routed_at``, or that of the repeat that paged."""
    duplicates: int = 0
    """Notifications the source sent again (the same event as it, or as one of its repeats)."""
    grouped_pipelines: tuple[str, ...] = ()
    """The pipelines of the failures that joined its incident."""
