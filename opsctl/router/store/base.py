"""Every query of the router, written once; :mod:`.sqlite` and :mod:`.postgres` supply the
connections, transactions and the few words the two dialects spell differently.

Queries use ``?`` placeholders (PostgreSQL's store turns them into ``%s``). Connections
run in autocommit mode and transactions are explicit (``BEGIN``/``COMMIT``), the same in
both, so the intake's group commit (:mod:`.writer`) and the worker's bookkeeping work on
either.

Leases. A worker claims the deliveries it sends by writing its id in ``lease_owner``; the
lease holds while the worker's heartbeat in ``workers`` is fresh
(:data:`LEASE_SECONDS`). A row whose owner went quiet (killed, cut off from the
database) is claimable again, and *unsure*: it may have been sent. Recording an outcome
only touches rows the worker still owns, so a worker that lost its lease cannot overwrite
what another recorded.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opsctl.router.plan import Incident, Message, Plan
from opsctl.router.store.records import Accepted, AlertRow, Delivery, RoutedAlert

LEASE_SECONDS = 15.0
"""A worker silent this long has lost its claims (and /readyz calls it gone)."""
STREAMS = {"pagerduty": 0, "slack-channel": 1, "slack-dm": 2}
"""Each kind of message of an incident is one ordered stream."""
STATES = ("pending", "failed", "delivered", "all")

_INCIDENT = (
    "SELECT i.dedup_key, i.failure_key, i.pipeline, i.team, i.open, i.paged, i.announced, i.channel, i.id, i.opened_alert,"
    " i.opened_at, i.last_trigger_at,"
    " EXISTS (SELECT 1 FROM deliveries t WHERE t.order_key = i.id * 4 AND t.state = 'pending' AND t.action = 'trigger'),"
    " i.lead, i.shared_source, i.members_open FROM incidents i"
)
_DELIVERY = "d.id, d.alert_id, d.kind, d.action, d.target, d.order_key, d.body, d.attempts, d.created_at, d.lease_owner"
_FREE = "(d.lease_owner IS NULL OR NOT EXISTS (SELECT 1 FROM workers w WHERE w.id = d.lease_owner AND w.heartbeat >= ?))"
_FREE_EXCLUSIVE = "(d.lease_owner IS NULL OR d.lease_owner = 'interrupted' OR ? = 0)"
"""With one worker (SQLite), every lease it did not take is a dead one's, marked ``interrupted``
at its start: no look at the heartbeats per row (the ``?`` keeps the parameters alike)."""
_FIRST_OF_ITS_ORDER = (
    "NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.state = 'pending' AND e.order_key = d.order_key AND e.id < d.id)"
)


@dataclass(frozen=True)
class Step:
    """One statement of the worker's bookkeeping, with its parameter rows."""

    sql: str
    rows: list[tuple[object, ...]]
    weight: int = 0
    """Rows it changes (when not one per parameter row)."""


def _incident(row: Sequence[Any]) -> Incident:
    return Incident(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        bool(row[5]),
        bool(row[6]),
        row[7],
        row[8],
        opened_alert=row[9],
        opened_at=row[10] or 0.0,
        last_trigger_at=row[11],
        trigger_pending=bool(row[12]),
        lead=row[13],
        shared_source=row[14],
        members_open=row[15] or 0,
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def first_line(exc: BaseException) -> str:
    """A driver's message for one line of output (psycopg adds tab-indented hints below it)."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


class Store(ABC):
    """The router's database; subclasses connect to SQLite or PostgreSQL."""

    dialect = ""
    location = ""
    """Where it is, for messages (a file, or a server without its password)."""
    errors: tuple[type[BaseException], ...] = ()
    """The driver's exceptions: the database failed, not the code."""
    lock_rows = ""
    """`` FOR UPDATE`` where concurrent writers must wait for a row (PostgreSQL)."""
    skip_locked = ""
    """`` FOR UPDATE OF d SKIP LOCKED`` where workers claim rows side by side (PostgreSQL)."""
    due_index = ""
    exclusive_worker = False
    """At most one worker uses the database (SQLite holds a lock file): it may read what it
    will claim outside the claiming transaction, and every lease it finds is a dead one's."""

    # -- connections (the dialects) --------------------------------------------------------

    @abstractmethod
    def connect(self, *, durable: bool = True) -> Any:
        """A connection in autocommit mode; ``durable``: its commits wait for the disk."""

    @abstractmethod
    def release(self, conn: Any) -> None:
        """Give back (or close) a connection of :meth:`connect`."""

    def close(self) -> None:
        """Close what the store holds (a pool); a SQLite store holds nothing between connections."""
        return

    def begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    @abstractmethod
    def in_transaction(self, conn: Any) -> bool: ...

    def execute(self, conn: Any, sql: str, params: Sequence[object] = ()) -> Any:
        return conn.execute(sql, params)

    def executemany(self, conn: Any, sql: str, rows: list[tuple[object, ...]]) -> None:
        conn.executemany(sql, rows)

    def problem(self, conn: Any) -> str | None:
        """Why ``conn`` must not take writes now, or None (SQLite: its file was replaced)."""
        return None

    def commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: Any) -> None:
        if self.in_transaction(conn):
            conn.execute("ROLLBACK")

    @contextmanager
    def transaction(self, conn: Any) -> Iterator[Any]:
        self.begin(conn)
        try:
            yield conn
        except BaseException:
            self.rollback(conn)
            raise
        self.commit(conn)

    @contextmanager
    def connection(self, *, durable: bool = True) -> Iterator[Any]:
        conn = self.connect(durable=durable)
        try:
            yield conn
        finally:
            self.release(conn)

    def one(self, conn: Any, sql: str, params: Sequence[object] = ()) -> Any:
        return self.execute(conn, sql, params).fetchone()

    def all(self, conn: Any, sql: str, params: Sequence[object] = ()) -> list[Any]:
        rows: list[Any] = self.execute(conn, sql, params).fetchall()
        return rows

    # -- accepting (inside the intake's transaction) ----------------------------------------

    def duplicate(self, conn: Any, source: str, event_key: str, now: float) -> Accepted | None:
        """A notification already stored under ``(source, event_key)``, now counted once more."""
        seen = self.one(conn, "SELECT id, note, dedup_key FROM alerts WHERE source = ? AND event_key = ?", (source, event_key))
        if seen is None:
            return None
        self.execute(conn, "UPDATE alerts SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE id = ?", (now, seen[0]))
        return Accepted(seen[0], True, f"duplicate of alert {seen[0]}: {seen[1]}", 0, seen[2])

    def lookup(self, conn: Any) -> StoreLookup:
        return StoreLookup(self, conn)

    def record(
        self, conn: Any, *, alert: dict[str, Any], decision: dict[str, Any], result: Plan, paged: list[str], now: float
    ) -> Accepted:
        """Store one routed alert, its incident (and group) and its messages."""
        found = result.incident
        final_key = found.dedup_key if found is not None else str(decision["dedup_key"])
        # a repeat coalesced into an open incident changes nothing but a count: the storm's path
        unchanged = result.effect == "repeat" and found is not None and found.id is not None and result.lead is None
        row = (
            alert["source"],
            alert["event_key"],
            now,
            alert["status"],
            alert["summary"],
            decision["pipeline"],
            decision["team"],
            final_key,
            result.note,
            dumps(decision),
            dumps(alert),
            alert["failure_key"],
            result.effect,
            result.counted_on if result.effect == "grouped" else None,
            dumps(paged),
            int(bool(decision["page_now"])),
            found.id if unchanged and found is not None else None,
        )
        alert_id: int = self.one(
            conn,
            "INSERT INTO alerts (source, event_key, received_at, status, summary, pipeline, team, dedup_key, note, decision,"
            " alert, failure_key, effect, group_of, paged, page_now, incident_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            row,
        )[0]
        if result.counted_on is not None:
            column = "grouped" if result.effect == "grouped" else "coalesced"
            self.execute(conn, f"UPDATE alerts SET {column} = {column} + 1 WHERE id = ?", (result.counted_on,))
        if found is None or unchanged:
            return Accepted(alert_id, False, result.note, 0, final_key)
        incident_id = self._save_incident(conn, found, alert_id, opening=result.effect in ("opened", "grouped"), now=now)
        lead = result.lead
        if lead is not None and lead.id is not None and lead.id != incident_id:
            self.execute(
                conn,
                "UPDATE incidents SET open = ?, members_open = ?, shared_source = ?, lead = ?, updated_at = ? WHERE id = ?",
                (int(lead.open), lead.members_open, lead.shared_source, lead.lead, now, lead.id),
            )
        if result.effect == "resolved" and found.opened_alert is not None:
            self.execute(conn, "UPDATE alerts SET resolved_at = ? WHERE id = ?", (now, found.opened_alert))
        self.execute(conn, "UPDATE alerts SET incident_id = ? WHERE id = ?", (incident_id, alert_id))
        stream_of = lead.id if lead is not None and lead.id is not None else incident_id
        self._insert_messages(conn, alert_id, stream_of, result.messages, now)
        return Accepted(alert_id, False, result.note, len(result.messages), final_key)

    def _save_incident(self, conn: Any, found: Incident, alert_id: int, *, opening: bool, now: float) -> int:
        state = (
            int(found.open),
            int(found.paged),
            int(found.announced),
            found.channel,
            now,
            found.last_trigger_at,
            found.shared_source,
            found.members_open,
        )
        if found.id is None:
            incident_id: int = self.one(
                conn,
                "INSERT INTO incidents (dedup_key, failure_key, pipeline, team, opened_alert, opened_at, lead, open, paged,"
                " announced, channel, updated_at, last_trigger_at, shared_source, members_open)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (found.dedup_key, found.failure_key, found.pipeline, found.team, alert_id, found.opened_at, found.lead, *state),
            )[0]
            return incident_id
        sets = "open = ?, paged = ?, announced = ?, channel = ?, updated_at = ?, last_trigger_at = ?, shared_source = ?"
        sets += ", members_open = ?"
        if opening:
            sets += ", opened_alert = ?, opened_at = ?, lead = ?"
            self.execute(
                conn, f"UPDATE incidents SET {sets} WHERE id = ?", (*state, alert_id, found.opened_at, found.lead, found.id)
            )
        else:
            self.execute(conn, f"UPDATE incidents SET {sets} WHERE id = ?", (*state, found.id))
        return found.id

    def _insert_messages(self, conn: Any, alert_id: int, incident_id: int, messages: Iterable[Message], now: float) -> None:
        rows: list[tuple[object, ...]] = [
            (alert_id, m.kind, m.action, m.target, incident_id * 4 + STREAMS[m.kind], dumps(m.body), now, now) for m in messages
        ]
        if rows:
            self.executemany(
                conn,
                "INSERT INTO deliveries (alert_id, kind, action, target, order_key, body, created_at, next_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    # -- the worker ------------------------------------------------------------------------

    def _claim(
        self, conn: Any, select: str, params: tuple[object, ...], owner: str, now: float, steps: Sequence[Step] = ()
    ) -> list[Delivery]:
        """Claim the rows ``select`` finds (lease them to ``owner``, count the attempt), in the
        transaction that first runs ``steps`` (the worker's bookkeeping of its last turn): one
        write transaction per turn, so the intake waits for the write lock half as often."""
        if self.exclusive_worker:
            # what ``steps`` records is still leased to this worker, so not found here either way
            rows = self.all(conn, select, params)
            if rows or any(step.rows for step in steps):
                with self.transaction(conn):
                    self._run(conn, steps)
                    if rows:
                        self._lease(conn, [row[0] for row in rows], owner)
        else:
            with self.transaction(conn):
                self._run(conn, steps)
                rows = self.all(conn, select + self.skip_locked, params)
                if rows:
                    self._lease(conn, [row[0] for row in rows], owner)
        return [Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] is not None, now) for r in rows]

    def _run(self, conn: Any, steps: Sequence[Step]) -> None:
        for step in steps:
            if step.rows:
                self.executemany(conn, step.sql, step.rows)

    def _lease(self, conn: Any, ids: list[int], owner: str) -> None:
        marks = ",".join("?" * len(ids))
        self.execute(conn, f"UPDATE deliveries SET lease_owner = ?, attempts = attempts + 1 WHERE id IN ({marks})", (owner, *ids))

    def claim_pagerduty(self, conn: Any, now: float, limit: int, owner: str, *, steps: Sequence[Step] = ()) -> list[Delivery]:
        """Claim up to ``limit`` due PagerDuty events, after running ``steps`` in the same transaction."""
        select = (
            f"SELECT {_DELIVERY} FROM deliveries d WHERE d.state = 'pending' AND d.kind = 'pagerduty' AND d.next_at <= ?"
            f" AND {self._free} AND {_FIRST_OF_ITS_ORDER} ORDER BY d.next_at LIMIT ?"
        )
        return self._claim(conn, select, (now, now - LEASE_SECONDS, limit), owner, now, steps)

    @property
    def _free(self) -> str:
        return _FREE_EXCLUSIVE if self.exclusive_worker else _FREE

    def due_slack_targets(self, conn: Any, now: float) -> list[tuple[str, str, bool]]:
        """The Slack targets with messages due: kind, target, and whether a reply is among them."""
        rows = self.all(
            conn,
            f"SELECT kind, target, max(CASE WHEN action = 'reply' THEN 1 ELSE 0 END) FROM deliveries {self.due_index}"
            " WHERE state = 'pending' AND kind IN ('slack-channel', 'slack-dm') AND next_at <= ? GROUP BY kind, target",
            (now,),
        )
        return [(row[0], row[1], bool(row[2])) for row in rows]

    def claim_for_target(
        self, conn: Any, kind: str, target: str, now: float, limit: int, owner: str, *, action: str
    ) -> list[Delivery]:
        """Claim up to ``limit`` due ``action`` messages (``post`` or ``reply``) for one Slack target."""
        select = (
            f"SELECT {_DELIVERY} FROM deliveries d WHERE d.state = 'pending' AND d.kind = ? AND d.target = ? AND d.next_at <= ?"
            f" AND d.action = ? AND {self._free} AND {_FIRST_OF_ITS_ORDER} ORDER BY d.next_at, d.id LIMIT ?"
        )
        return self._claim(conn, select, (kind, target, now, action, now - LEASE_SECONDS, limit), owner, now)

    def thread_of(self, conn: Any, delivery: Delivery) -> str | None:
        """The Slack ``ts`` of the first message delivered in ``delivery``'s stream (what a reply threads on)."""
        found = self.one(
            conn,
            "SELECT result FROM deliveries WHERE order_key = ? AND state = 'delivered' AND id < ? ORDER BY id LIMIT 1",
            (delivery.order_key, delivery.id),
        )
        if found is None or not found[0]:
            return None
        ts: str | None = json.loads(found[0]).get("ts")
        return ts

    def start_worker(self, conn: Any, owner: str, now: float, host: str, pid: int) -> None:
        """Register ``owner``; what an earlier worker of the same name (or, with an exclusive
        worker, any earlier worker) had claimed is now free and unsure."""
        with self.transaction(conn):
            if self.exclusive_worker:
                self.execute(conn, "UPDATE deliveries SET lease_owner = 'interrupted' WHERE lease_owner IS NOT NULL")
                self.execute(conn, "DELETE FROM workers")
            else:
                self.execute(conn, "UPDATE deliveries SET lease_owner = 'interrupted' WHERE lease_owner = ?", (owner,))
            self.heartbeat(conn, owner, now, host=host, pid=pid, started=now)

    def free_leases(self, conn: Any, owner: str, *, keep: set[int]) -> None:
        """Free (as unsure) what ``owner`` leases but is not sending (ids in ``keep``)."""
        leased = [row[0] for row in self.all(conn, "SELECT id FROM deliveries WHERE lease_owner = ?", (owner,))]
        stray = [delivery for delivery in leased if delivery not in keep]
        for chunk in range(0, len(stray), 500):
            part = stray[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            self.execute(conn, f"UPDATE deliveries SET lease_owner = 'interrupted' WHERE id IN ({marks})", part)

    def heartbeat(self, conn: Any, owner: str, now: float, *, host: str = "", pid: int = 0, started: float | None = None) -> None:
        self.execute(
            conn,
            "INSERT INTO workers (id, heartbeat, started_at, host, pid) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
            (owner, now, started if started is not None else now, host, pid),
        )

    def live_workers(self, conn: Any, now: float) -> int:
        count: int = self.one(conn, "SELECT count(*) FROM workers WHERE heartbeat >= ?", (now - LEASE_SECONDS,))[0]
        return count

    def worker_seen(self, conn: Any, owner: str) -> float | None:
        row = self.one(conn, "SELECT heartbeat FROM workers WHERE id = ?", (owner,))
        return None if row is None else float(row[0])

    def requeue_missing_key(self, conn: Any, now: float) -> None:
        """A new routing keys file: what failed for a missing key gets another chance."""
        with self.transaction(conn):
            self.execute(
                conn,
                "UPDATE deliveries SET state = 'pending', next_at = ?, attempts = 0"
                " WHERE state = 'failed' AND error_code = 'no-routing-key'",
                (now,),
            )

    def release_target(self, conn: Any, kind: str, target: str, now: float) -> None:
        """A probe of a paused target went through: what waited for it is due now."""
        with self.transaction(conn):
            self.execute(
                conn,
                "UPDATE deliveries SET next_at = ? WHERE state = 'pending' AND kind = ? AND target = ? AND next_at > ?"
                " AND lease_owner IS NULL",
                (now, kind, target, now),
            )

    def outcome_steps(
        self,
        owner: str,
        now: float,
        *,
        delivered: dict[str | None, list[int]],
        deferred: list[tuple[float | None, int]],
        failed: list[tuple[str, str, int]],
        retried: list[tuple[str, str, float | None, int]],
        paused: dict[tuple[str, str], float],
        counters: dict[str, float],
        rows_per_step: int,
    ) -> list[Step]:
        """The statements that record a turn's outcomes (only on rows ``owner`` still leases)."""
        mine = " AND lease_owner = ?"
        steps: list[Step] = []
        for result, ids in delivered.items():
            sql = (
                "UPDATE deliveries SET state = 'delivered', lease_owner = NULL, delivered_at = ?, result = ?,"
                " error_code = NULL, last_error = NULL"
            )
            steps += by_ids(sql, (now, result), ids, mine, (owner,), rows_per_step)
        steps.append(
            Step(
                f"UPDATE deliveries SET lease_owner = NULL, attempts = attempts - 1, next_at = ? WHERE id = ?{mine}",
                [(*row, owner) for row in deferred],
            )
        )
        steps.append(
            Step(
                f"UPDATE deliveries SET state = 'failed', lease_owner = NULL, error_code = ?, last_error = ? WHERE id = ?{mine}",
                [(*row, owner) for row in failed],
            )
        )
        steps.append(
            Step(
                f"UPDATE deliveries SET lease_owner = NULL, error_code = ?, last_error = ?, next_at = ? WHERE id = ?{mine}",
                [(*row, owner) for row in retried],
            )
        )
        # a failed target's other queued deliveries wait too, and so leave the due set
        steps.append(
            Step(
                "UPDATE deliveries SET next_at = ? WHERE state = 'pending' AND kind = ? AND target = ? AND next_at < ?"
                " AND lease_owner IS NULL",
                [(until, kind, target, until) for (kind, target), until in sorted(paused.items())],
            )
        )
        upsert = "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value"
        # sorted: two workers bumping the same counters take their row locks in one order
        steps.append(Step(f"{upsert} = counters.value + excluded.value", sorted(counters.items())))
        steps.append(Step("UPDATE workers SET heartbeat = ? WHERE id = ?", [(now, owner)]))
        return steps

    def run_steps(self, conn: Any, steps: list[Step]) -> None:
        """Run the bookkeeping steps in one transaction (SQLite slices them, see there)."""
        with self.transaction(conn):
            self._run(conn, steps)

    def maintenance(self, conn: Any, now: float, *, quiet: bool) -> None:
        """Housekeeping while the worker idles (SQLite checkpoints its log); PostgreSQL vacuums by itself."""
        return

    # -- reading and retrying (opsctl alerts, /metrics, /readyz) ------------------------------

    def counters(self, conn: Any) -> dict[str, float]:
        return {row[0]: float(row[1]) for row in self.all(conn, "SELECT name, value FROM counters")}

    def pending_count(self, conn: Any) -> int:
        count: int = self.one(conn, "SELECT count(*) FROM deliveries WHERE state = 'pending'")[0]
        return count

    def failed_count(self, conn: Any) -> int:
        count: int = self.one(conn, "SELECT count(*) FROM deliveries WHERE state = 'failed'")[0]
        return count

    def list_alerts(self, conn: Any, *, state: str = "all", limit: int = 50) -> list[AlertRow]:
        failed = "sum(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END)"
        pending = "sum(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END)"
        having = {
            "failed": f"HAVING {failed} > 0",
            "pending": f"HAVING {failed} = 0 AND {pending} > 0",
            "delivered": "HAVING count(d.id) > 0 AND sum(CASE WHEN d.state != 'delivered' THEN 1 ELSE 0 END) = 0",
        }.get(state, "")
        where = ""
        if state in ("failed", "pending"):
            # only alerts that still have such deliveries, found through the partial indexes
            where = f"WHERE a.id IN (SELECT alert_id FROM deliveries WHERE state = '{state}')"
        rows = self.all(
            conn,
            "SELECT a.id, a.source, a.received_at, a.status, a.summary, a.pipeline, a.team, a.dedup_key, a.note,"
            f" a.duplicates, coalesce({failed}, 0), coalesce({pending}, 0), count(d.id), a.effect, a.coalesced, a.grouped"
            f" FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id {where} GROUP BY a.id {having}"
            " ORDER BY a.id DESC LIMIT ?",
            (limit,),
        )
        return [AlertRow(*[*r[:10], _state(r[10], r[11], r[12]), r[12], r[13], r[14], r[15]]) for r in rows]

    def show_alert(self, conn: Any, alert_id: int) -> dict[str, Any] | None:
        keys = (
            "id",
            "source",
            "event_key",
            "received_at",
            "status",
            "summary",
            "pipeline",
            "team",
            "dedup_key",
            "note",
            "decision",
            "alert",
            "duplicates",
            "last_duplicate_at",
            "effect",
            "coalesced",
            "grouped",
            "group_of",
            "resolved_at",
        )
        row = self.one(conn, f"SELECT {', '.join(keys)} FROM alerts WHERE id = ?", (alert_id,))
        if row is None:
            return None
        out = dict(zip(keys, row, strict=True))
        out["decision"] = json.loads(out["decision"])
        out["alert"] = json.loads(out["alert"])
        columns = (
            "id",
            "kind",
            "action",
            "target",
            "state",
            "attempts",
            "created_at",
            "next_at",
            "delivered_at",
            "error_code",
            "last_error",
            "result",
        )
        out["deliveries"] = [
            dict(zip(columns, d, strict=True))
            for d in self.all(conn, f"SELECT {', '.join(columns)} FROM deliveries WHERE alert_id = ? ORDER BY id", (alert_id,))
        ]
        return out

    def retry(self, conn: Any, alert_ids: list[int] | None) -> int:
        """Queue the failed deliveries of ``alert_ids`` (all failed ones with None) again, at once
        (due at time 0: whatever the clock of the worker that sends them)."""
        sql = "UPDATE deliveries SET state = 'pending', next_at = 0, attempts = 0 WHERE state = 'failed'"
        params: tuple[object, ...] = ()
        if alert_ids is not None:
            sql += f" AND alert_id IN ({','.join('?' * len(alert_ids))})"
            params += tuple(alert_ids)
        with self.transaction(conn):
            count: int = self.execute(conn, sql, params).rowcount
        return count

    def routed(self, conn: Any, start: float, end: float) -> list[RoutedAlert]:
        """Every alert received in ``[start, end)`` (Unix seconds) that opened an incident or
        joined a group, oldest first; see :class:`~opsctl.router.store.records.RoutedAlert`."""
        rows = self.all(
            conn,
            "SELECT a.id, a.received_at, a.resolved_at, a.source, a.pipeline, a.team, a.decision, a.dedup_key, a.failure_key,"
            " a.paged, a.page_now, a.coalesced, a.grouped, a.group_of, i.shared_source, l.shared_source,"
            " (SELECT min(t.delivered_at) FROM deliveries t WHERE t.alert_id = a.id AND t.kind = 'pagerduty'"
            "  AND t.action = 'trigger' AND t.state = 'delivered'), a.summary, a.alert, a.duplicates, a.incident_id,"
            " (SELECT coalesce(sum(b.duplicates), 0) FROM alerts b WHERE b.incident_id = a.incident_id AND b.id > a.id"
            "  AND b.effect IN ('repeat', 'refresh') AND (a.resolved_at IS NULL OR b.received_at <= a.resolved_at))"
            " FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id LEFT JOIN incidents l ON l.id = i.lead"
            " WHERE a.received_at >= ? AND a.received_at < ? AND a.effect IN ('opened', 'grouped') ORDER BY a.received_at, a.id",
            (start, end),
        )
        members: dict[int, list[str]] = {}
        for lead, pipeline in self.all(
            conn,
            "SELECT group_of, pipeline FROM alerts WHERE effect = 'grouped' AND received_at >= ? ORDER BY id",
            (start,),
        ):
            members.setdefault(lead, []).append(pipeline or "")
        out = []
        for r in rows:
            decision = json.loads(r[6])
            routed_at = _instant(decision.get("at"), r[1])
            paged: tuple[str, ...] = tuple(json.loads(r[9]))
            roles = _roles(decision)
            paged_routed_at: float | None = None
            paged_at = r[16]
            if paged:
                paged_routed_at = routed_at
            elif not r[10] and r[20] is not None:
                later = self._paged_later(conn, r[20], r[0], r[2])
                if later is not None:
                    paged, roles, paged_routed_at, paged_at = later
            out.append(
                RoutedAlert(
                    id=r[0],
                    received_at=r[1],
                    resolved_at=r[2],
                    source=r[3],
                    pipeline=r[4],
                    team=r[5],
                    tier=decision.get("tier"),
                    dedup_key=r[7],
                    failure_key=r[8],
                    paged=paged,
                    paged_at=paged_at,
                    page_now=bool(r[10]),
                    coalesced=r[11],
                    grouped=r[12],
                    group_of=r[13],
                    shared_source=r[14] if r[14] else r[15],
                    summary=r[17],
                    severity=json.loads(r[18]).get("severity"),
                    urgency=str(decision.get("urgency") or "high"),
                    routed_at=routed_at,
                    roles=roles if paged else (),
                    paged_routed_at=paged_routed_at,
                    duplicates=r[19] + r[21],
                    grouped_pipelines=tuple(members.get(r[0], ())),
                )
            )
        return out

    def _paged_later(
        self, conn: Any, incident_id: int, opened: int, resolved_at: float | None
    ) -> tuple[tuple[str, ...], tuple[str, ...], float, float | None] | None:
        """A failure held for the morning: the repeat that paged it, if one did before its resolve."""
        row = self.one(
            conn,
            "SELECT a.decision, a.paged, a.received_at, (SELECT min(t.delivered_at) FROM deliveries t WHERE t.alert_id = a.id"
            " AND t.kind = 'pagerduty' AND t.action = 'trigger' AND t.state = 'delivered') FROM alerts a"
            " WHERE a.incident_id = ? AND a.id > ? AND a.effect = 'refresh' AND a.paged != '[]' AND a.received_at < ?"
            " ORDER BY a.id LIMIT 1",
            (incident_id, opened, resolved_at if resolved_at is not None else float("inf")),
        )
        if row is None:
            return None
        decision = json.loads(row[0])
        return tuple(json.loads(row[1])), _roles(decision), _instant(decision.get("at"), row[2]), row[3]


def _roles(decision: dict[str, Any]) -> tuple[str, ...]:
    """The chain roles of the people a decision pages, in order."""
    return tuple(str(step["role"]) for step in decision.get("chain", []) if step.get("paged") and step.get("person"))


def _instant(text: Any, fallback: float) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return float(fallback)


def by_ids(update: str, params: tuple[object, ...], ids: list[int], also: str, more: tuple[object, ...], size: int) -> list[Step]:
    """``update … WHERE id IN (…)`` in slices of ``size``."""
    steps = []
    for chunk in range(0, len(ids), size):
        part = ids[chunk : chunk + size]
        sql = f"{update} WHERE id IN ({','.join('?' * len(part))}){also}"
        steps.append(Step(sql, [(*params, *part, *more)], len(part)))
    return steps


def _state(failed: int, pending: int, total: int) -> str:
    if failed:
        return "failed"
    if pending:
        return "pending"
    return "delivered" if total else "nothing to send"


class StoreLookup:
    """The :class:`~opsctl.router.routing.Lookup` of an accepting transaction."""

    def __init__(self, store: Store, conn: Any) -> None:
        self.store = store
        self.conn = conn

    def incident(self, dedup_key: str, failure_key: str, *, resolving: bool) -> Incident | None:
        """The incident of ``dedup_key``; a resolve also finds an open one of the same failure
        under another key (the org changed between the trigger and its resolve)."""
        lock = self.store.lock_rows
        row = self.store.one(self.conn, f"{_INCIDENT} WHERE i.dedup_key = ?{lock}", (dedup_key,))
        if row is None and resolving:
            row = self.store.one(
                self.conn,
                f"{_INCIDENT} WHERE i.failure_key = ? AND i.open = 1 ORDER BY i.updated_at DESC LIMIT 1{lock}",
                (failure_key,),
            )
        return None if row is None else _incident(row)

    def incident_by_id(self, incident_id: int) -> Incident | None:
        row = self.store.one(self.conn, f"{_INCIDENT} WHERE i.id = ?{self.store.lock_rows}", (incident_id,))
        return None if row is None else _incident(row)

    def open_lead(self, pipelines: tuple[str, ...], since: float) -> Incident | None:
        marks = ",".join("?" * len(pipelines))
        row = self.store.one(
            self.conn,
            f"{_INCIDENT} WHERE i.members_open > 0 AND i.opened_at >= ? AND i.pipeline IN ({marks})"
            " AND (i.lead IS NULL OR i.lead = i.id)"
            f" ORDER BY i.opened_at LIMIT 1{self.store.lock_rows}",
            (since, *pipelines),
        )
        return None if row is None else _incident(row)
