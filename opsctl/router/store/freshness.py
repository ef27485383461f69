"""The freshness watchdog's queries: last successes per pipeline, stale marks, and the lease
that lets one replica at a time run the watchdog. Functions over a
:class:`~opsctl.router.store.base.Store` and a connection, written once for SQLite and
PostgreSQL.

Races between replicas and the intake are settled by the rows themselves: a success
upserts its pipeline's row (taking its row lock) and reads back whether a stale alert is
open; the watchdog marks a pipeline stale only while its row still holds the success the
decision was made on (:func:`mark_stale`), so a success that lands meanwhile wins and no
stale alert is raised on old facts.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.freshness import Seen
from opsctl.router.store.base import Store

WATCHDOG_LEASE = "freshness-watchdog"


def record_success(store: Store, conn: Any, pipeline: str, now: float, source: str) -> Seen:
    """``pipeline`` was heard from at ``now``; its row afterwards (an open stale alert included)."""
    row = store.one(
        conn,
        "INSERT INTO freshness (pipeline, last_success, source) VALUES (?, ?, ?) ON CONFLICT (pipeline) DO UPDATE SET"
        " last_success = CASE WHEN freshness.last_success IS NULL OR freshness.last_success < excluded.last_success"
        " THEN excluded.last_success ELSE freshness.last_success END, source = excluded.source"
        " RETURNING pipeline, last_success, source, stale_at, reference",
        (pipeline, now, source),
    )
    return _seen(row)


def mark_stale(store: Store, conn: Any, pipeline: str, last_success: float | None, reference: float, now: float) -> bool:
    """Mark ``pipeline``'s stale alert open, if its row still says what the watchdog read
    (``last_success``, no alert open); False when a success or another replica came first."""
    if last_success is None:
        row = store.one(
            conn,
            "INSERT INTO freshness (pipeline, stale_at, reference) VALUES (?, ?, ?) ON CONFLICT (pipeline) DO UPDATE SET"
            " stale_at = excluded.stale_at, reference = excluded.reference"
            " WHERE freshness.stale_at IS NULL AND freshness.last_success IS NULL RETURNING pipeline",
            (pipeline, now, reference),
        )
    else:
        row = store.one(
            conn,
            "UPDATE freshness SET stale_at = ?, reference = ? WHERE pipeline = ? AND stale_at IS NULL AND last_success = ?"
            " RETURNING pipeline",
            (now, reference, pipeline, last_success),
        )
    return row is not None


def clear_stale(store: Store, conn: Any, pipeline: str) -> bool:
    """Close ``pipeline``'s stale mark; False when none was open (another transaction closed it)."""
    row = store.one(
        conn,
        "UPDATE freshness SET stale_at = NULL, reference = NULL WHERE pipeline = ? AND stale_at IS NOT NULL RETURNING pipeline",
        (pipeline,),
    )
    return row is not None


def seen_all(store: Store, conn: Any) -> dict[str, Seen]:
    """Every pipeline heard from (or marked stale), by id."""
    rows = store.all(conn, "SELECT pipeline, last_success, source, stale_at, reference FROM freshness")
    return {row[0]: _seen(row) for row in rows}


_DATABASE_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "extract(epoch FROM clock_timestamp())::double precision",
}
"""Unix seconds by the database's clock: leases are timed by the one clock every replica shares,
not by the replicas' own (which may be skewed, and which tests move by hours)."""


def take_lease(store: Store, conn: Any, name: str, owner: str, seconds: float) -> bool:
    """Hold the lease ``name`` for ``seconds`` more: True when ``owner`` has it (it held it, or
    the holder let it lapse). Inside a transaction on PostgreSQL the row stays locked until
    the commit, so two replicas cannot both act on one lease."""
    now = _DATABASE_NOW[store.dialect]
    # held by another and fresh: say so without touching the row, whose lock the holder's
    # transaction may hold (the other replicas' writers must not wait for it)
    holder = store.one(conn, f"SELECT owner FROM leases WHERE name = ? AND expires >= {now}", (name,))
    if holder is not None and holder[0] != owner:
        return False
    row = store.one(
        conn,
        f"INSERT INTO leases (name, owner, expires) VALUES (?, ?, {now} + ?) ON CONFLICT (name) DO UPDATE SET"
        f" owner = excluded.owner, expires = excluded.expires WHERE leases.owner = excluded.owner OR leases.expires < {now}"
        " RETURNING owner",
        (name, owner, seconds),
    )
    return row is not None


def lease_holder(store: Store, conn: Any, name: str) -> str | None:
    """Who holds the lease ``name`` now (None: nobody, or it lapsed)."""
    row = store.one(conn, f"SELECT owner FROM leases WHERE name = ? AND expires >= {_DATABASE_NOW[store.dialect]}", (name,))
    return None if row is None else str(row[0])


def release_lease(store: Store, conn: Any, name: str, owner: str) -> None:
    """Give up ``name`` at once (a stopping server), so another replica takes over without waiting."""
    store.execute(conn, "DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))


def _seen(row: Any) -> Seen:
    return Seen(row[0], row[1], row[2] or "", row[3], row[4])
