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
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from opsctl.errors import UsageError
from opsctl.health.records import AlertRecord, Page
from opsctl.router.outbox import connect

_HISTORY = """
SELECT id, status, dedup_key, duplicates, json_extract(decision, '$.at'), json_extract(decision, '$.page_now')
FROM alerts ORDER BY id
"""
"""Pass one: every alert's place in its failure's history, in the order they were accepted."""

_DETAILS = """
SELECT id, source, summary, pipeline, team, dedup_key,
       json_extract(decision, '$.tier', '$.urgency', '$.chain'), json_extract(alert, '$.severity')
FROM alerts WHERE id IN ({marks})
"""
"""Pass two: what a record shows, for the alerts that open records or page them."""

_CHUNK = 500


@dataclass
class _Occurrence:
    opened: int
    """The id of the alert that opened it."""
    at: datetime
    paged: bool
    repeats: int
    paging: int | None = None
    """The id of the alert that paged, when a repeat did (the failure was held until then)."""
    paging_at: datetime | None = None
    resolved_at: datetime | None = None


def records_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[AlertRecord]:
    """The records of the failures whose first alert was routed in ``[start, end)``, in time order."""
    found: list[_Occurrence] = []
    open_now: dict[str, _Occurrence] = {}
    for alert_id, status, key, duplicates, at_text, page_now in conn.execute(_HISTORY):
        current = open_now.get(key)
        if status == "firing":
            if current is None:
                current = open_now[key] = _Occurrence(alert_id, datetime.fromisoformat(at_text), bool(page_now), duplicates)
                found.append(current)
            else:
                current.repeats += 1 + duplicates
                if page_now and not current.paged:
                    # held for the morning, then a repeat in working hours paged: the failure paged then
                    current.paged, current.paging, current.paging_at = True, alert_id, datetime.fromisoformat(at_text)
        elif current is not None:
            current.resolved_at = datetime.fromisoformat(at_text)
            del open_now[key]
    kept = [o for o in found if start <= o.at < end]
    details = _details(conn, [i for o in kept for i in (o.opened, o.paging) if i is not None])
    records = [_record(o, details) for o in kept]
    return sorted(records, key=lambda r: (r.received_at, r.key))


def _details(conn: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[object, ...]]:
    out: dict[int, tuple[object, ...]] = {}
    for first in range(0, len(ids), _CHUNK):
        chunk = ids[first : first + _CHUNK]
        for row in conn.execute(_DETAILS.format(marks=",".join("?" * len(chunk))), chunk):
            out[row[0]] = row
    return out


def _first_paged(chain: list[dict[str, object]] | None, at: datetime) -> tuple[Page, ...]:
    first = next((step for step in chain or () if step.get("paged") and step.get("person")), None)
    return () if first is None else (Page(str(first["person"]), at, str(first.get("role") or "")),)


def _record(occurrence: _Occurrence, details: dict[int, tuple[object, ...]]) -> AlertRecord:
    row = details[occurrence.opened]
    tier, urgency, chain = json.loads(str(row[6]))
    pages: tuple[Page, ...] = ()
    if occurrence.paging is not None and occurrence.paging_at is not None:
        _tier, urgency, chain = json.loads(str(details[occurrence.paging][6]))
        pages = _first_paged(chain, occurrence.paging_at)
    elif occurrence.paged:
        pages = _first_paged(chain, occurrence.at)
    return AlertRecord(
        received_at=occurrence.at,
        resolved_at=occurrence.resolved_at,
        source=str(row[1]),
        pipeline=None if row[3] is None else str(row[3]),
        team=str(row[4]),
        key=str(row[5]),
        summary=str(row[2]),
        tier=None if tier is None else str(tier),
        severity=None if row[7] is None else str(row[7]),
        urgency=str(urgency or "high"),
        paged=occurrence.paged,
        pages=pages,
        repeats=occurrence.repeats,
    )


def read_records(path: Path, start: datetime, end: datetime, *, option: str = "--db") -> list[AlertRecord]:
    """:func:`records_between` on the database at ``path``; :class:`UsageError` when there is
    none, naming the command's ``option`` that points at another."""
    if not path.is_file():
        raise UsageError(f"no alert database at {path}: opsctl serve creates it ({option} or OPSCTL_ROUTER_DB point at another)")
    conn = connect(path, durable=False)
    try:
        return records_between(conn, start, end)
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: cannot read the alert database: {exc}") from None
    finally:
        conn.close()
