"""The embedded store: one SQLite file beside the ops repository.

Durability. WAL mode with ``synchronous=FULL`` on the intake's connection: a commit returns
only after the write-ahead log is fsynced. The worker's bookkeeping runs with
``synchronous=NORMAL``: a lost "delivered" mark after a power cut means one resend, which
PagerDuty's dedup key and Slack's metadata check absorb.

The file itself. A connection keeps writing to the file it opened even after that file was
deleted or replaced, and those writes would be gone at the next start. :meth:`problem`
notices (the path no longer names the opened file); :meth:`recover` writes a deleted file
back from the open connection (nothing is lost), and refuses while another file stands in
its place (the intake answers 503 until that file is moved away, or the server restarted).

One worker per file: a lock file beside it (see :mod:`opsctl.router.worker`); the worker
and the server write the same file, and SQLite serializes them (:meth:`begin`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from opsctl.errors import UsageError
from opsctl.router.store import schema
from opsctl.router.store.base import Step, Store

BUSY_TIMEOUT_MS = 5000
ROWS_PER_TRANSACTION = 200
"""Rows the worker changes per transaction. The server waits for the write lock while the
worker holds it: a thousand-row digest recorded at once stalls every request for tens of
milliseconds, the same rows in slices of 200 for a few milliseconds each."""
YIELD_SECONDS = 0.003
"""Pause between two of the worker's slices, longer than the server's retry interval."""
STARVED = 0.05
"""A worker that waited this long for the write lock asks the intake to let it go first."""
WORKER_FIRST = 0.002
"""Longest the intake waits for a worker that waits to write (see :meth:`SQLiteStore.begin`)..."""
WORKER_FIRST_EVERY = 0.01
"""... at most once in this many seconds, so that a busy worker cannot slow the intake by much."""
QUIET_SECONDS = 2.0
"""The log is checkpointed once the database took no write for this long."""
CHECKPOINT_BYTES = 256 * 1024 * 1024
"""A write-ahead log larger than this is checkpointed even while busy."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


class SQLiteStore(Store):
    dialect = "sqlite"
    errors = (sqlite3.Error,)
    due_index = "INDEXED BY deliveries_due"
    exclusive_worker = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._opened: dict[int, tuple[int, int] | None] = {}
        self._durable: dict[int, bool] = {}
        self._waiting = f"{path}.worker-waiting"
        self._log_size = 0
        self._log_grew = 0.0
        self._yielded = 0.0

    # -- connections -------------------------------------------------------------------------

    def connect(self, *, durable: bool = True) -> sqlite3.Connection:
        """A connection in autocommit mode, the schema in place."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            # Checkpoints copy the log into the database; the worker runs them (passive, never
            # blocking writers) so that no request waits for one.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: cannot open the alert database: {exc}") from None
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot open the alert database: {exc.strerror}") from None
        self._opened[id(conn)] = _identity(self.path)
        self._durable[id(conn)] = durable
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > schema.VERSION:
            raise UsageError(f"{self.path}: written by a newer opsctl (schema {version}); upgrade opsctl")
        if version == schema.VERSION:
            return
        self.begin(conn)
        try:
            for statement in schema.statements(schema.TABLES, id_type="INTEGER PRIMARY KEY", real="REAL"):
                conn.execute(statement)
            existing = {
                table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for table in ("alerts", "deliveries", "incidents")
            }
            for statement in schema.added_columns(existing, real="REAL"):
                conn.execute(statement)
            if "in_flight" in existing["deliveries"]:  # version 1 marked sends under way here
                conn.execute("UPDATE deliveries SET lease_owner = 'interrupted' WHERE in_flight != 0 AND state = 'pending'")
            for statement in schema.statements(schema.INDEXES, id_type="INTEGER PRIMARY KEY", real="REAL"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={schema.VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            self.rollback(conn)
            raise

    def release(self, conn: sqlite3.Connection) -> None:
        self._opened.pop(id(conn), None)
        self._durable.pop(id(conn), None)
        conn.close()

    def in_transaction(self, conn: sqlite3.Connection) -> bool:
        return conn.in_transaction

    def begin(self, conn: sqlite3.Connection, *, give_up: float = 30.0) -> None:
        """``BEGIN IMMEDIATE``, retried every fraction of a millisecond while another process writes.

        The server and its worker write the same file. SQLite's own busy handler sleeps 1, 2,
        5, 10, … 100 ms between tries, which turns a wait for a lock held half a millisecond
        into tens of milliseconds of latency for every request of the batch; this loop tries
        again after 0.1 ms, doubling up to 2 ms.

        SQLite queues nobody, and under a storm the intake commits batch after batch with
        hardly a gap: a worker that only retries would wait for seconds to record a page. So
        a worker that waited :data:`STARVED` seconds raises a flag (a file beside the
        database), and the intake lets it go first, waiting at most :data:`WORKER_FIRST`
        seconds once in every :data:`WORKER_FIRST_EVERY`.
        """
        worker = self._durable.get(id(conn)) is False
        if not worker:
            self._let_worker_first()
        started = time.monotonic()
        deadline = started + give_up
        delay = 0.0001
        flagged = False
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                if worker and not flagged and time.monotonic() - started > STARVED:
                    flagged = True
                    with contextlib.suppress(OSError):
                        os.close(os.open(self._waiting, os.O_CREAT | os.O_WRONLY, 0o600))
                time.sleep(delay)
                delay = min(delay * 2, 0.002)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if flagged:
                with contextlib.suppress(OSError):
                    os.unlink(self._waiting)

    def _let_worker_first(self) -> None:
        now = time.monotonic()
        if now - self._yielded < WORKER_FIRST_EVERY or not os.path.exists(self._waiting):
            return
        self._yielded = now
        deadline = now + WORKER_FIRST
        while os.path.exists(self._waiting) and time.monotonic() < deadline:
            time.sleep(0.0002)

    # -- the file under the connection ---------------------------------------------------------

    def problem(self, conn: sqlite3.Connection) -> str | None:
        opened = self._opened.get(id(conn))
        now = _identity(self.path)
        if now == opened:
            return None
        if now is None:
            return f"the alert database {self.path} was deleted while the server ran"
        return (
            f"the alert database {self.path} was replaced by another file while the server ran: "
            "the alerts it held are in the file the server opened; move the new file away "
            "(the server then writes its own back) or restart the server to use the new one"
        )

    def recover(self, conn: sqlite3.Connection) -> sqlite3.Connection | None:
        """After :meth:`problem`: write a deleted file back from ``conn`` (everything it held,
        fsynced) and return a connection to it; None while another file stands in its place."""
        if _identity(self.path) is not None:
            return None
        partial = self.path.with_name(self.path.name + ".restoring")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        target = sqlite3.connect(str(partial))
        try:
            conn.backup(target)
        finally:
            target.close()
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        for stale in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{stale}")
        os.replace(partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.connect(durable=True)

    # -- the worker's bookkeeping ----------------------------------------------------------------

    def run_steps(self, conn: sqlite3.Connection, steps: list[Step]) -> None:
        """Run the steps, committing whenever about :data:`ROWS_PER_TRANSACTION` rows changed.

        Each step is bookkeeping that is right on its own: a crash between two transactions
        leaves every delivery either recorded or still to be sent (and PagerDuty's dedup key,
        Slack's metadata check, make sending again harmless).
        """
        touched = 0
        try:
            for step in steps:
                if not step.rows:
                    continue
                if not conn.in_transaction:
                    self.begin(conn)
                conn.executemany(step.sql, step.rows)
                touched += step.weight or len(step.rows)
                if touched >= ROWS_PER_TRANSACTION:
                    conn.execute("COMMIT")
                    touched = 0
                    # SQLite queues nobody: without a pause the next slice would take the lock
                    # again before the server's writer, which retries every few milliseconds
                    time.sleep(YIELD_SECONDS)
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException:
            self.rollback(conn)
            raise

    def maintenance(self, conn: sqlite3.Connection, now: float, *, quiet: bool) -> None:
        # Copying the log into the database writes and fsyncs the database file, which slows
        # the intake's own fsyncs: do it when nobody writes (the log stopped growing, the worker
        # is idle), or when the log grows big. A storm of repeats keeps the worker idle and the
        # intake busy: the log's growth, not the worker, says when it is quiet.
        with contextlib.suppress(OSError):
            wal = os.path.getsize(f"{self.path}-wal")
            if wal != self._log_size:
                self._log_size, self._log_grew = wal, time.monotonic()
            still = time.monotonic() - self._log_grew >= QUIET_SECONDS
            if wal > CHECKPOINT_BYTES or (quiet and still and wal > 0):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._log_size = os.path.getsize(f"{self.path}-wal")

    def lock_worker(self) -> Any:
        """One worker per database: a lock file held for the worker's life (released when it dies)."""
        import fcntl

        handle = open(f"{self.path}.worker.lock", "a+")  # noqa: SIM115 - held until the process exits
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle
