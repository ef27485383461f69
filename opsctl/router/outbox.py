"""The durable outbox: alerts, the messages to send for them, and incidents, in SQLite.

Durability. The database runs in WAL mode with ``synchronous=FULL``: a commit returns only
after the write-ahead log is fsynced. The server answers 202 only after the commit that
holds the alert *and* its outbox rows (one transaction, so there is never an alert without
its messages or the other way round).

Group commit. One writer thread owns the server's connection. Requests hand it jobs; it
takes every job waiting, runs them in one transaction (a savepoint each, so one failing
job fails alone) and commits once: concurrent requests share one fsync. While it commits,
the next requests queue up and form the next batch, so batches grow with the load and no
request waits for a timer. ``group_commit=False`` commits each job on its own (the naive
variant the benchmark measures beside it).

Tables::

    alerts      one row per accepted notification; UNIQUE(source, event_key) finds duplicates
    deliveries  the outbox: one row per message (PagerDuty event, Slack post), its state,
                attempts and next attempt time; a row is pending, delivered or failed.
                ``order_key`` is the incident's number times four plus the stream
                (PagerDuty, Slack channel, DM): messages of one stream of one incident go
                out in the order they were accepted, and new incidents get growing keys,
                so the index on it only ever grows at its end (no random page per insert)
    incidents   one row per failure (PagerDuty dedup key): open or resolved, paged, announced
    counters    the worker's delivery counters and latency histogram, for /metrics

The worker (:mod:`opsctl.router.worker`, another process) and ``opsctl alerts retry``
write through their own connections; SQLite serializes them with the server's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from opsctl.errors import UsageError
from opsctl.router.plan import Incident, Message, Plan

T = TypeVar("T")
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    event_key TEXT NOT NULL,
    received_at REAL NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    pipeline TEXT,
    team TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    note TEXT NOT NULL,
    decision TEXT NOT NULL,
    alert TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    last_duplicate_at REAL,
    UNIQUE (source, event_key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    order_key INTEGER NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    in_flight INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    delivered_at REAL,
    error_code TEXT,
    last_error TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (kind, next_at, target) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (order_key, id);
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);
CREATE INDEX IF NOT EXISTS deliveries_failed ON deliveries (error_code) WHERE state = 'failed';
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    failure_key TEXT NOT NULL,
    pipeline TEXT,
    team TEXT NOT NULL,
    open INTEGER NOT NULL,
    paged INTEGER NOT NULL,
    announced INTEGER NOT NULL,
    channel TEXT,
    opened_alert INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_failure ON incidents (failure_key) WHERE open = 1;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value REAL NOT NULL
);
"""


def connect(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), the schema in place.

    ``durable``: commits fsync the log (the server's intake). The worker's bookkeeping runs
    with ``durable=False``: a lost "delivered" mark after a power cut means one resend,
    which PagerDuty's dedup key absorbs.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        # Checkpoints copy the log into the database; the worker runs them (passive, never
        # blocking writers) so that no request waits for one.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UsageError(f"{path}: written by a newer opsctl (schema {version}); upgrade opsctl")
        if version < SCHEMA_VERSION:
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: cannot open the alert database: {exc}") from None
    return conn


BUSY_TIMEOUT_MS = 5000


def begin(conn: sqlite3.Connection, *, give_up: float = 30.0) -> None:
    """``BEGIN IMMEDIATE``, retried every fraction of a millisecond while another process writes.

    The server and its worker write the same file. SQLite's own busy handler sleeps 1, 2,
    5, 10, … 100 ms between tries, which turns a wait for a lock held half a millisecond
    into tens of milliseconds of latency for every request of the batch; this loop tries
    again after 0.1 ms, doubling up to 2 ms.
    """
    deadline = time.monotonic() + give_up
    delay = 0.0001
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


# -- the writer: group commit ----------------------------------------------------------


@dataclass
class _Job(Generic[T]):
    run: Callable[[sqlite3.Connection], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = None


class Writer:
    """The one thread that writes the server's database; see the module docstring."""

    def __init__(self, path: Path, *, group_commit: bool = True, max_batch: int = 1000) -> None:
        self.path = path
        self.group_commit = group_commit
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.conn: sqlite3.Connection | None = None
        self.commits = 0
        self.jobs = 0

    def start(self) -> None:
        self.conn = connect(self.path, durable=True)
        self._thread = threading.Thread(target=self._loop, name="opsctl-outbox-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in a transaction; returns once that transaction is committed (fsynced)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, loop, future))
        return await future

    def _loop(self) -> None:
        conn = self.conn
        assert conn is not None
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            if self.group_commit:
                while len(batch) < self.max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(more)
            self._commit(conn, batch)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        try:
            begin(conn)
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    job.result = job.run(conn)
                except Exception as exc:  # one bad job fails alone; its request gets a 500
                    job.error = exc
                    conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.error = job.error or exc
        self.commits += 1
        self.jobs += len(batch)
        self._settle(batch)

    @staticmethod
    def _settle(batch: list[_Job[Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            # one wake-up of the event loop per batch, not per request
            with contextlib.suppress(RuntimeError):  # the loop closed while we committed: nobody waits
                loop.call_soon_threadsafe(_resolve_all, jobs)


def _resolve_all(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        future = job.future
        if future.done():  # the request was cancelled (its client went away): stored all the same
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)


# -- accepting an alert ----------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """What the server answers for one alert."""

    id: int
    duplicate: bool
    note: str
    deliveries: int
    dedup_key: str


def find_incident(conn: sqlite3.Connection, dedup_key: str, failure_key: str, *, resolving: bool) -> Incident | None:
    """The incident of ``dedup_key``; a resolve also finds an open one of the same failure
    under another key (the org changed between the trigger and its resolve)."""
    columns = "dedup_key, failure_key, pipeline, team, open, paged, announced, channel, id"
    row = conn.execute(f"SELECT {columns} FROM incidents WHERE dedup_key = ?", (dedup_key,)).fetchone()
    if row is None and resolving:
        row = conn.execute(
            f"SELECT {columns} FROM incidents WHERE failure_key = ? AND open = 1 ORDER BY updated_at DESC LIMIT 1",
            (failure_key,),
        ).fetchone()
    if row is None:
        return None
    return Incident(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), bool(row[6]), row[7], row[8])


def accept(
    conn: sqlite3.Connection,
    *,
    source: str,
    event_key: str,
    status: str,
    summary: str,
    pipeline: str | None,
    team: str,
    dedup_key: str,
    failure_key: str,
    decision: dict[str, Any],
    alert: dict[str, Any],
    make_plan: Callable[[Incident | None], Plan],
    now: float,
) -> Accepted:
    """Store one alert and its messages (inside the caller's transaction).

    A second notification with the same ``(source, event_key)`` is a duplicate: it is
    counted on the first one and sends nothing.
    """
    seen = conn.execute(
        "SELECT id, note, dedup_key FROM alerts WHERE source = ? AND event_key = ?", (source, event_key)
    ).fetchone()
    if seen is not None:
        conn.execute("UPDATE alerts SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE id = ?", (now, seen[0]))
        return Accepted(seen[0], True, f"duplicate of alert {seen[0]}: {seen[1]}", 0, seen[2])
    incident = find_incident(conn, dedup_key, failure_key, resolving=status == "resolved")
    result = make_plan(incident)
    final_key = result.incident.dedup_key if result.incident is not None else dedup_key
    alert_id: int = conn.execute(
        "INSERT INTO alerts (source, event_key, received_at, status, summary, pipeline, team, dedup_key, note, decision, alert)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (source, event_key, now, status, summary, pipeline, team, final_key, result.note, _dumps(decision), _dumps(alert)),
    ).lastrowid  # type: ignore[assignment]
    found = result.incident
    if found is None:
        return Accepted(alert_id, False, result.note, 0, final_key)
    state = (int(found.open), int(found.paged), int(found.announced), found.channel, now)
    if found.id is None:
        incident_id: int = conn.execute(
            "INSERT INTO incidents (dedup_key, failure_key, pipeline, team, opened_alert, open, paged, announced, channel,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (found.dedup_key, found.failure_key, found.pipeline, found.team, alert_id, *state),
        ).lastrowid  # type: ignore[assignment]
    else:
        incident_id = found.id
        conn.execute(
            "UPDATE incidents SET opened_alert = CASE WHEN open = 0 AND ? = 1 THEN ? ELSE opened_alert END,"
            " open = ?, paged = ?, announced = ?, channel = ?, updated_at = ? WHERE id = ?",
            (int(found.open), alert_id, *state, incident_id),
        )
    insert_messages(conn, alert_id, incident_id, result.messages, now)
    return Accepted(alert_id, False, result.note, len(result.messages), final_key)


STREAMS = {"pagerduty": 0, "slack-channel": 1, "slack-dm": 2}
"""Each kind of message of an incident is one ordered stream."""


def insert_messages(conn: sqlite3.Connection, alert_id: int, incident_id: int, messages: Iterable[Message], now: float) -> None:
    conn.executemany(
        "INSERT INTO deliveries (alert_id, kind, action, target, order_key, body, created_at, next_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(alert_id, m.kind, m.action, m.target, incident_id * 4 + STREAMS[m.kind], _dumps(m.body), now, now) for m in messages],
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# -- reading and retrying (opsctl alerts) ------------------------------------------------


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


STATES = ("pending", "failed", "delivered", "all")

_LIST = """
SELECT a.id, a.source, a.received_at, a.status, a.summary, a.pipeline, a.team, a.dedup_key, a.note, a.duplicates,
       coalesce(sum(d.state = 'failed'), 0), coalesce(sum(d.state = 'pending'), 0), count(d.id)
FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id
{where}
GROUP BY a.id
{having}
ORDER BY a.id DESC
LIMIT ?
"""


def _state(failed: int, pending: int, total: int) -> str:
    if failed:
        return "failed"
    if pending:
        return "pending"
    return "delivered" if total else "nothing to send"


def list_alerts(conn: sqlite3.Connection, *, state: str = "all", limit: int = 50) -> list[AlertRow]:
    having = {
        "failed": "HAVING sum(d.state = 'failed') > 0",
        "pending": "HAVING sum(d.state = 'failed') = 0 AND sum(d.state = 'pending') > 0",
        "delivered": "HAVING count(d.id) > 0 AND sum(d.state != 'delivered') = 0",
    }.get(state, "")
    where = ""
    if state in ("failed", "pending"):
        # only alerts that still have such deliveries, found through the partial indexes
        where = f"WHERE a.id IN (SELECT alert_id FROM deliveries WHERE state = '{state}')"
    rows = conn.execute(_LIST.format(where=where, having=having), (limit,)).fetchall()
    return [
        AlertRow(
            id=row[0],
            source=row[1],
            received_at=row[2],
            status=row[3],
            summary=row[4],
            pipeline=row[5],
            team=row[6],
            dedup_key=row[7],
            note=row[8],
            duplicates=row[9],
            state=_state(row[10], row[11], row[12]),
            deliveries=row[12],
        )
        for row in rows
    ]


def show_alert(conn: sqlite3.Connection, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, source, event_key, received_at, status, summary, pipeline, team, dedup_key, note, decision, alert,"
        " duplicates, last_duplicate_at FROM alerts WHERE id = ?",
        (alert_id,),
    ).fetchone()
    if row is None:
        return None
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
    )
    out = dict(zip(keys, row, strict=True))
    out["decision"] = json.loads(out["decision"])
    out["alert"] = json.loads(out["alert"])
    out["deliveries"] = [
        dict(
            zip(
                (
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
                ),
                d,
                strict=True,
            )
        )
        for d in conn.execute(
            "SELECT id, kind, action, target, state, attempts, created_at, next_at, delivered_at, error_code, last_error,"
            " result FROM deliveries WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
    ]
    return out


def retry(conn: sqlite3.Connection, alert_ids: list[int] | None, *, now: float | None = None) -> int:
    """Queue the failed deliveries of ``alert_ids`` (all failed ones with None) again, at once."""
    now = time.time() if now is None else now
    begin(conn)
    try:
        if alert_ids is None:
            cursor = conn.execute(
                "UPDATE deliveries SET state = 'pending', next_at = ?, attempts = 0 WHERE state = 'failed'", (now,)
            )
        else:
            marks = ",".join("?" * len(alert_ids))
            cursor = conn.execute(
                f"UPDATE deliveries SET state = 'pending', next_at = ?, attempts = 0 WHERE state = 'failed'"
                f" AND alert_id IN ({marks})",
                (now, *alert_ids),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return cursor.rowcount


def pending_count(conn: sqlite3.Connection) -> int:
    count: int = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
    return count


def counters(conn: sqlite3.Connection) -> dict[str, float]:
    return dict(conn.execute("SELECT name, value FROM counters").fetchall())
