"""What the router routed, read back from its SQLite database as health records.

One :class:`~opsctl.health.records.AlertRecord` per failure occurrence: a firing alert
that found its failure closed opens one; firing alerts while it is open (and a source's
resent duplicates) are its repeats; the resolve that finds it open closes it, and a
resolve that finds nothing open is no record at all. A failure held in Slack for the
morning whose repeat comes in working hours pages then, and its record says so. This is how the outbox itself
decides (see :func:`opsctl.router.plan.plan`), replayed from the stored alerts.

Times are the routing instants the decisions were made at (``decision.at``), so that a
record's time is the one its escalation chain was computed for. The router pages the
first person of the chain and PagerDuty escalates from there by its own policy, which the
router does not see: a record's pages are that first person, at the routing instant.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from opsctl.errors import UsageError
from opsctl.health.records import AlertRecord, Page
from opsctl.router.outbox import connect

_ROWS = """
WITH alerts_at AS (
    SELECT id, dedup_key, status, CAST(strftime('%s', json_extract(decision, '$.at')) AS INTEGER) AS at_epoch
    FROM alerts
)
SELECT a.id, a.source, a.status, a.summary, a.pipeline, a.team, a.dedup_key, a.duplicates,
       json_extract(a.decision, '$.at'), json_extract(a.decision, '$.page_now'), json_extract(a.decision, '$.tier'),
       json_extract(a.decision, '$.urgency'), json_extract(a.alert, '$.severity'), json_extract(a.decision, '$.chain')
FROM alerts a
WHERE a.dedup_key IN (SELECT dedup_key FROM alerts_at WHERE status = 'firing' AND at_epoch >= ? AND at_epoch < ?)
ORDER BY a.dedup_key, a.id
"""


@dataclass
class _Open:
    record: AlertRecord
    repeats: int = 0
    resolved_at: datetime | None = None

    def finish(self) -> AlertRecord:
        return replace(self.record, repeats=self.repeats, resolved_at=self.resolved_at)


def records_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[AlertRecord]:
    """The records of the failures whose first alert was routed in ``[start, end)``, in time order."""
    rows = conn.execute(_ROWS, (math.ceil(start.timestamp()), math.ceil(end.timestamp()))).fetchall()
    found: list[AlertRecord] = []
    current: _Open | None = None
    current_key: str | None = None
    for row in rows:
        key, status, at = row[6], row[2], datetime.fromisoformat(row[8])
        if key != current_key:
            if current is not None:
                found.append(current.finish())
            current, current_key = None, key
        if status == "firing":
            if current is None:
                current = _Open(_record(row, at), repeats=row[7])
            else:
                current.repeats += 1 + row[7]
                if not current.record.paged and row[9]:
                    # held for the morning, then a repeat in working hours paged: the failure paged then
                    pages = _record(row, at).pages
                    current.record = replace(current.record, paged=True, pages=pages, urgency=str(row[11] or "high"))
        elif current is not None:
            current.resolved_at = at
            found.append(current.finish())
            current = None
    if current is not None:
        found.append(current.finish())
    return sorted((r for r in found if start <= r.received_at < end), key=lambda r: (r.received_at, r.key))


def _record(row: tuple[object, ...], at: datetime) -> AlertRecord:
    page_now = bool(row[9])
    pages: tuple[Page, ...] = ()
    if page_now:
        chain = json.loads(str(row[13] or "[]"))
        first = next((step for step in chain if step.get("paged") and step.get("person")), None)
        if first is not None:
            pages = (Page(str(first["person"]), at, str(first.get("role") or "")),)
    return AlertRecord(
        received_at=at,
        resolved_at=None,
        source=str(row[1]),
        pipeline=None if row[4] is None else str(row[4]),
        team=str(row[5]),
        key=str(row[6]),
        summary=str(row[3]),
        tier=None if row[10] is None else str(row[10]),
        severity=None if row[12] is None else str(row[12]),
        urgency=str(row[11] or "high"),
        paged=page_now,
        pages=pages,
    )


def read_records(path: Path, start: datetime, end: datetime) -> list[AlertRecord]:
    """:func:`records_between` on the database at ``path``; :class:`UsageError` when there is none."""
    if not path.is_file():
        raise UsageError(f"no alert database at {path}: opsctl serve creates it (--db or OPSCTL_ROUTER_DB point at another)")
    conn = connect(path, durable=False)
    try:
        return records_between(conn, start, end)
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: cannot read the alert database: {exc}") from None
    finally:
        conn.close()
