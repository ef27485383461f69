"""One alert into the store, inside the intake's transaction: a duplicate is counted, anything
else is routed against what is open (:meth:`~opsctl.router.routing.Router.route`) and
recorded with its incident and messages. The server's writer runs it for every alert.

The freshness watchdog takes the same path: a success (a source's resolve that says a run
succeeded, or a heartbeat) is recorded for its pipeline by :func:`record_heard`, which
resolves the pipeline's open stale alert in the same transaction; :func:`raise_stale`
stores a stale alert the watchdog decided on (:mod:`opsctl.router.freshness`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsctl.router.alert import Alert
from opsctl.router.freshness import fresh_again, is_success
from opsctl.router.matching import Decision
from opsctl.router.report import decision_json, paged_people
from opsctl.router.routing import Router
from opsctl.router.store import Accepted, Store


def store_decision(router: Router, store: Store, conn: Any, decision: Decision, *, slack: bool, now: float) -> Accepted:
    """Store ``decision`` at ``now`` (Unix seconds) in the transaction open on ``conn``."""
    alert = decision.alert
    duplicate = store.duplicate(conn, alert.source, alert.event_key, now)
    if duplicate is not None:
        return duplicate
    result = router.route(decision, store.lookup(conn), slack=slack)
    pages = any(m.kind == "pagerduty" and m.action == "trigger" for m in result.messages)
    accepted = store.record(
        conn,
        alert=alert.to_json(),
        decision=decision_json(router.org, decision),
        result=result,
        paged=paged_people(decision) if pages else [],
        now=now,
    )
    if decision.match.pipeline is not None and is_success(alert.source, alert.status):
        record_heard(router, store, conn, decision.match.pipeline, alert.source, at=decision.at, slack=slack)
    return accepted


def record_heard(
    router: Router, store: Store, conn: Any, pipeline: str, source: str, *, at: datetime, slack: bool
) -> Accepted | None:
    """``pipeline`` was heard from (a success of ``source``, or ``heartbeat``) at ``at``; the
    resolve of its stale alert, when one was open."""
    from opsctl.router.store.freshness import clear_stale, record_success

    now = at.timestamp()
    seen = record_success(store, conn, pipeline, now, source)
    if seen.stale_at is None or not clear_stale(store, conn, pipeline):
        return None
    alert = fresh_again(pipeline, source, seen.stale_at, now)
    return store_decision(router, store, conn, router.decide(alert, at), slack=slack, now=now)


def raise_stale(
    router: Router,
    store: Store,
    conn: Any,
    alert: Alert,
    last_success: float | None,
    reference: float,
    *,
    at: datetime,
    slack: bool,
) -> Accepted | None:
    """Store the watchdog's stale ``alert`` (or a resolve of one) at ``at``, if the pipeline's
    row still holds ``last_success`` (else a success came first: nothing to raise)."""
    from opsctl.router.store.freshness import clear_stale, mark_stale

    pipeline = alert.ids.names[0]
    now = at.timestamp()
    if alert.status == "firing":
        if not mark_stale(store, conn, pipeline, last_success, reference, now):
            return None
    elif not clear_stale(store, conn, pipeline):
        return None
    return store_decision(router, store, conn, router.decide(alert, at), slack=slack, now=now)
