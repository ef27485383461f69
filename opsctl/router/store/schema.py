"""The router's tables, written once for SQLite and PostgreSQL.

``{id}`` is each dialect's auto-numbered key, ``{real}`` its double-precision type;
booleans are integers 0/1 in both, so every query reads the same in either.

::

    alerts      one row per accepted notification; UNIQUE(source, event_key) finds duplicates;
                what it did (effect), the counts coalesced and grouped into it, who it paged
    deliveries  the outbox: one row per message (PagerDuty event, Slack post), its state,
                attempts, next attempt time and lease. ``order_key`` is the incident's number
                times four plus the stream (PagerDuty, Slack channel, DM): messages of one
                stream go out in the order they were accepted, and new incidents get growing
                keys, so the index on it only ever grows at its end
    incidents   one row per failure (PagerDuty dedup key): open or resolved, paged, announced,
                its latest trigger, and its group (lead, shared source, failures still open)
    counters    the workers' delivery counters and latency histogram, for /metrics
    workers     one row per delivery worker: its heartbeat, which is also its lease
    freshness   one row per pipeline heard from (version 3): its last success or heartbeat,
                and its open stale alert (when raised, and the success it counted from)
    leases      named leases (version 3): the replica that runs the freshness watchdog
"""

from __future__ import annotations

VERSION = 3

TABLES = """
CREATE TABLE IF NOT EXISTS alerts (
    id {id},
    source TEXT NOT NULL,
    event_key TEXT NOT NULL,
    received_at {real} NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    pipeline TEXT,
    team TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    note TEXT NOT NULL,
    decision TEXT NOT NULL,
    alert TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    last_duplicate_at {real},
    UNIQUE (source, event_key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id {id},
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    order_key BIGINT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at {real} NOT NULL,
    next_at {real} NOT NULL,
    delivered_at {real},
    error_code TEXT,
    last_error TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS incidents (
    id {id},
    dedup_key TEXT NOT NULL UNIQUE,
    failure_key TEXT NOT NULL,
    pipeline TEXT,
    team TEXT NOT NULL,
    open INTEGER NOT NULL,
    paged INTEGER NOT NULL,
    announced INTEGER NOT NULL,
    channel TEXT,
    opened_alert INTEGER NOT NULL,
    updated_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value {real} NOT NULL
);
"""

# Added by version 2, on a fresh database and on one written by version 1 alike.
COLUMNS_2 = (
    ("alerts", "failure_key", "TEXT NOT NULL DEFAULT ''"),
    ("alerts", "effect", "TEXT NOT NULL DEFAULT 'nothing'"),
    ("alerts", "incident_id", "INTEGER"),
    ("alerts", "coalesced", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "grouped", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "group_of", "INTEGER"),
    ("alerts", "resolved_at", "{real}"),
    ("alerts", "paged", "TEXT NOT NULL DEFAULT '[]'"),
    ("alerts", "page_now", "INTEGER NOT NULL DEFAULT 0"),
    ("deliveries", "lease_owner", "TEXT"),
    ("incidents", "opened_at", "{real} NOT NULL DEFAULT 0"),
    ("incidents", "last_trigger_at", "{real}"),
    ("incidents", "lead", "BIGINT"),
    ("incidents", "shared_source", "TEXT"),
    ("incidents", "members_open", "INTEGER NOT NULL DEFAULT 0"),
)

# The indexes, and the tables added after version 1 (created if missing, on every upgrade).
INDEXES = """
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    heartbeat {real} NOT NULL,
    started_at {real} NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (kind, next_at, target) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (order_key, id);
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);
CREATE INDEX IF NOT EXISTS deliveries_failed ON deliveries (error_code) WHERE state = 'failed';
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS incidents_failure ON incidents (failure_key) WHERE open = 1;
CREATE INDEX IF NOT EXISTS incidents_groups ON incidents (pipeline, opened_at) WHERE members_open > 0;
CREATE INDEX IF NOT EXISTS alerts_received ON alerts (received_at);
CREATE INDEX IF NOT EXISTS alerts_incident ON alerts (incident_id);
CREATE TABLE IF NOT EXISTS freshness (
    pipeline TEXT PRIMARY KEY,
    last_success {real},
    source TEXT NOT NULL DEFAULT '',
    stale_at {real},
    reference {real}
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires {real} NOT NULL
);
"""


def statements(text: str, *, id_type: str, real: str) -> list[str]:
    """The statements of ``text`` in a dialect's words."""
    filled = text.replace("{id}", id_type).replace("{real}", real)
    return [part.strip() for part in filled.split(";") if part.strip()]


def added_columns(existing: dict[str, set[str]], *, real: str) -> list[str]:
    """``ALTER TABLE`` statements for the version-2 columns a table lacks."""
    return [
        f"ALTER TABLE {table} ADD COLUMN {column} {kind.replace('{real}', real)}"
        for table, column, kind in COLUMNS_2
        if column not in existing.get(table, set())
    ]
