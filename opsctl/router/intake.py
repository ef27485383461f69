"""One alert into the store, inside the intake's transaction: a duplicate is counted, anything
else is routed against what is open (:meth:`~opsctl.router.routing.Router.route`) and
recorded with its incident and messages. The server's writer runs it for every alert."""

from __future__ import annotations

from typing import Any

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
    return store.record(
        conn,
        alert=alert.to_json(),
        decision=decision_json(router.org, decision),
        result=result,
        paged=paged_people(decision) if pages else [],
        now=now,
    )
