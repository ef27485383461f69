"""What the router routed, read back from its store as health records.

One :class:`~opsctl.health.records.AlertRecord` per failure that opened an incident, from
:meth:`opsctl.router.store.base.Store.routed`: its repeats (and a source's resent
duplicates) are counted in it, failures of other pipelines grouped into its incident are
counted in ``grouped``, and its resolve closes it. A failure held in Slack for the morning
whose repeat came in working hours paged then, and its record says so.

Times are the routing instants the decisions were made at, so that a record's time is the
one its escalation chain was computed for. The router pages the first person of the chain
and PagerDuty escalates from there by its own policy, which the router does not see: a
record's pages are that first person, at the routing instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl.health.records import AlertRecord, Page
from opsctl.router.store import RoutedAlert, Store, reading


def records_between(store: Store, conn: Any, start: datetime, end: datetime) -> list[AlertRecord]:
    """The records of the failures whose first alert was routed in ``[start, end)``, in time order."""
    routed = [r for r in store.routed(conn, start.timestamp(), end.timestamp()) if r.group_of is None]
    records = [_record(r) for r in routed if start.timestamp() <= r.routed_at < end.timestamp()]
    return sorted(records, key=lambda r: (r.received_at, r.key))


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _record(routed: RoutedAlert) -> AlertRecord:
    pages: tuple[Page, ...] = ()
    at = _when(routed.paged_routed_at)
    if routed.paged and at is not None:
        pages = (Page(routed.paged[0], at, routed.roles[0] if routed.roles else ""),)
    received = _when(routed.routed_at)
    assert received is not None
    return AlertRecord(
        received_at=received,
        resolved_at=_when(routed.resolved_at),
        source=routed.source,
        pipeline=routed.pipeline,
        team=routed.team,
        key=routed.dedup_key,
        summary=routed.summary,
        tier=routed.tier,
        severity=routed.severity,
        urgency=routed.urgency,
        paged=bool(pages),
        pages=pages,
        repeats=routed.coalesced + routed.duplicates,
        grouped=routed.grouped,
        grouped_pipelines=routed.grouped_pipelines,
    )


def read_records(where: str | Path, start: datetime, end: datetime, *, option: str = "--db") -> list[AlertRecord]:
    """:func:`records_between` on the database at ``where`` (a SQLite file or a PostgreSQL
    URL); a one-line error when there is none (naming the command's ``option`` that points
    at another) or it cannot be read, see :func:`opsctl.router.store.reading`."""
    with reading(where, option=option) as (store, conn):
        return records_between(store, conn, start, end)
