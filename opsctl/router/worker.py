"""The delivery worker: sends what the outbox holds, until it is sent or a person must act.

One dispatcher thread owns the worker's database connection. Each turn it records the
outcomes of finished sends, picks the deliveries that are due, marks them in flight and
hands them to a small thread pool of senders. Its writes go in slices of a couple of
hundred rows with a pause between them, because the server's intake waits for the same
write lock (see :func:`_run_in_short_transactions`).

- Order. A delivery waits while an earlier one with the same ``order_key`` is pending, so
  a resolve never overtakes its trigger and a Slack reply finds the message it threads on.
- Retries. A failed attempt is tried again after an exponential backoff with jitter
  (``base · 2^(n-1)``, capped, half of it random), or after ``Retry-After`` when the service
  sent one. The failure also pauses its target (a PagerDuty routing target, a Slack
  channel or person) until then: while PagerDuty answers 503 one probe goes out per
  backoff step instead of every queued page, and every queued page follows once a probe
  succeeds. Attempts are counted per delivery; after ``max_attempts``, or at once for a
  refusal a person must fix (no routing key, unknown channel), the delivery is kept as
  *failed*, listed by ``opsctl alerts list --state failed`` and queued again by ``retry``.
- Slack pacing. Slack allows about one message per second per channel; messages for a
  channel (or person) that wait for their turn go out together as one digest.
- Crashes. A delivery is marked in flight before it is sent. One still marked when a
  worker starts was interrupted mid-send: PagerDuty events are sent again (the dedup key
  makes that harmless) and Slack messages only if the channel does not already hold them.

The worker runs in its own process under ``opsctl serve`` (so sending never competes with
accepting for the interpreter lock, and at a lower CPU priority, so that a storm is
accepted first and paged as fast as the rest of the machine allows), or in a thread for
tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.router.delivery import Delivery, Outcome, PagerDutySender, SlackSender
from opsctl.router.outbox import begin, connect
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.retry import RetryPolicy
from opsctl.vendors.routing_keys import RoutingKeyFile

log = logging.getLogger("opsctl.router.worker")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Upper bounds (seconds) of the accepted → delivered histogram in /metrics."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs; picklable, so a worker process can be started from it."""

    db_path: Path
    vendor: VendorConfig
    routing_keys: Path | None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    threads: int = 4
    """Concurrent sends. More only add interpreter-lock contention against a fast service;
    PagerDuty's own rate limits per routing key are far below what four threads send."""
    poll: float = 0.01
    """Seconds between looks at the outbox when there is nothing to do."""
    turn: float = 0.005
    """Seconds between two rounds while busy: each round records and starts a batch."""
    slack_pace: float = 1.0
    """Seconds between two posts to one Slack channel or person."""


@dataclass(frozen=True)
class _Finished:
    group: _Group
    outcomes: list[Outcome]
    ended: float
    retry_at: float | None
    """When the group's target may be tried again, after a failure or while it was paused."""


DEFERRED = Outcome(False, code="deferred")
"""Not sent: its target was paused while the send waited for a thread."""


@dataclass
class _Group:
    """What one send covers: a PagerDuty event, or one or more Slack posts to one target."""

    pause_key: str
    deliveries: list[Delivery]
    thread_ts: str | None = None


_COLUMNS = "d.id, d.alert_id, d.kind, d.action, d.target, d.order_key, d.body, d.attempts, d.created_at, d.in_flight"
_FIRST_OF_ITS_ORDER = (
    " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.state = 'pending' AND e.order_key = d.order_key AND e.id < d.id)"
)
_DUE_PAGERDUTY = (
    f"SELECT {_COLUMNS} FROM deliveries d WHERE d.state = 'pending' AND d.kind = 'pagerduty' AND d.next_at <= ?"
    f" AND d.in_flight != 1{_FIRST_OF_ITS_ORDER} ORDER BY d.next_at LIMIT ?"
)
_DUE_SLACK_TARGETS = (
    "SELECT DISTINCT kind, target FROM deliveries INDEXED BY deliveries_due"
    " WHERE state = 'pending' AND kind IN ('slack-channel', 'slack-dm') AND next_at <= ?"
)
_DUE_FOR_TARGET = (
    f"SELECT {_COLUMNS} FROM deliveries d WHERE d.state = 'pending' AND d.kind = ? AND d.target = ? AND d.next_at <= ?"
    f" AND d.in_flight != 1{_FIRST_OF_ITS_ORDER} ORDER BY d.next_at LIMIT ?"
)
CHECKPOINT_BYTES = 256 * 1024 * 1024
"""A write-ahead log larger than this is checkpointed even while busy."""
QUIET_SECONDS = 2.0
"""Otherwise the log is checkpointed once the worker had nothing to do for this long."""
DIGEST_MAX = 2000
"""Most messages one Slack post carries (listed in part, counted in full)."""
IN_FLIGHT, INTERRUPTED = 1, 2
"""``deliveries.in_flight``: 1 while this worker sends it; 2 when a previous worker stopped mid-send."""


class Worker:
    def __init__(
        self,
        config: WorkerConfig,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.keys = RoutingKeyFile(config.routing_keys)
        self.pagerduty = PagerDutySender(config.vendor, self.keys)
        self.slack: SlackSender | None = SlackSender(config.vendor) if config.vendor.slack_token else None
        self._done: queue.SimpleQueue[_Finished] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._in_flight: set[int] = set()
        self._paused: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._slack_next: dict[str, float] = {}
        self._next_slack_look = 0.0
        self._keys_generation = 0
        self._last_checkpoint = 0.0
        self._last_busy = 0.0

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        conn = connect(self.config.db_path, durable=False)
        # what a previous worker was sending when it stopped: its outcome is unknown
        conn.execute("UPDATE deliveries SET in_flight = ? WHERE in_flight = ? AND state = 'pending'", (INTERRUPTED, IN_FLIGHT))
        pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix="opsctl-send")
        try:
            while not stop.is_set():
                if self.turn(conn, pool):
                    # busy: let sends finish and pile up, so each turn records and starts a batch
                    stop.wait(self.config.turn)
                else:
                    self._wake.wait(self.config.poll)
                    self._wake.clear()
            pool.shutdown(wait=True)
            self.turn(conn, None)  # record what finished while stopping
            log.info("stopped; every send that was under way is recorded")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            conn.close()

    def turn(self, conn: sqlite3.Connection, pool: ThreadPoolExecutor | None) -> bool:
        """One round: record outcomes, pick due deliveries, start them. True when there was anything to do."""
        now = self.clock()
        finished = []
        while True:
            try:
                finished.append(self._done.get_nowait())
            except queue.Empty:
                break
        for done in finished:
            self._in_flight.difference_update(d.id for d in done.group.deliveries)
        groups = self._pick(conn, now) if pool is not None else []
        if finished or groups:
            self._write(conn, finished, groups, now)
        if groups or finished:
            self._last_busy = now
        for group in groups:
            self._in_flight.update(d.id for d in group.deliveries)
            assert pool is not None
            pool.submit(self._send, group)
        self._housekeeping(conn, now)
        return bool(groups) or bool(finished) or bool(self._in_flight)

    def _pick(self, conn: sqlite3.Connection, now: float) -> list[_Group]:
        groups: list[_Group] = []
        free = self.config.threads * 8 - len(self._in_flight)
        if free > 0:
            for row in self._rows(conn.execute(_DUE_PAGERDUTY, (now, free))):
                key = "pd:" + row.target
                if self._paused.get(key, 0.0) <= now:  # paused a moment ago: the database learns it this turn
                    groups.append(_Group(key, [row]))
        if self.slack is not None and now >= self._next_slack_look:
            # Slack rows wait for their target's turn (about one post per second per channel):
            # look a few times a second, and send what waits for a target as one digest
            self._next_slack_look = now + min(0.25, self.config.slack_pace / 4)
            for kind, target in conn.execute(_DUE_SLACK_TARGETS, (now,)).fetchall():
                key = f"{kind}:{target}"
                if self._paused.get(key, 0.0) > now or self._slack_next.get(key, 0.0) > now:
                    continue
                rows = self._rows(conn.execute(_DUE_FOR_TARGET, (kind, target, now, DIGEST_MAX)))
                replies = [row for row in rows if row.action == "reply"]
                if replies:
                    # a reply goes alone, into the thread of its incident's first message
                    groups.append(_Group(key, [replies[0]], self._thread_of(conn, replies[0])))
                elif rows:
                    groups.append(_Group(key, rows))
                if rows:
                    self._slack_next[key] = now + self.config.slack_pace
        return groups

    def _rows(self, cursor: sqlite3.Cursor) -> list[Delivery]:
        return [Delivery(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] == INTERRUPTED) for r in cursor]

    @staticmethod
    def _thread_of(conn: sqlite3.Connection, row: Delivery) -> str | None:
        found = conn.execute(
            "SELECT result FROM deliveries WHERE order_key = ? AND state = 'delivered' AND id < ? ORDER BY id LIMIT 1",
            (row.order_key, row.id),
        ).fetchone()
        if found is None or not found[0]:
            return None
        ts: str | None = json.loads(found[0]).get("ts")
        return ts

    # -- sending (pool threads) ------------------------------------------------------------

    def _send(self, group: _Group) -> None:
        now = self.clock()
        until = self._paused.get(group.pause_key, 0.0)
        if until > now:
            # the target was paused while this send waited for a thread: not an attempt
            self._done.put(_Finished(group, [DEFERRED] * len(group.deliveries), now, until))
            self._wake.set()
            return
        try:
            outcomes = self._attempt(group)
        except Exception as exc:  # a bug in a sender must not lose the delivery: retry it
            log.exception("delivery %s failed unexpectedly: %s: %s", group.pause_key, type(exc).__name__, exc)
            outcomes = [Outcome(False, error=f"internal error: {type(exc).__name__}", code="internal")] * len(group.deliveries)
        ended = self.clock()
        retry_at = None
        transient = [o for o in outcomes if not o.ok and not o.permanent]
        if transient:
            retry_at = self._pause(group.pause_key, transient[0], ended)
        elif all(o.ok for o in outcomes):
            with self._lock:
                self._failures.pop(group.pause_key, None)
        self._done.put(_Finished(group, outcomes, ended, retry_at))
        self._wake.set()

    def _pause(self, key: str, outcome: Outcome, ended: float) -> float:
        """Pause ``key`` after a failure, at once, so that sends already queued for it wait too;
        returns when to try again (Retry-After, else the backoff of its failures in a row)."""
        with self._lock:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            wait = outcome.retry_after if outcome.retry_after is not None else self.config.policy.delay(failures, self.rng)
            until = ended + wait
            self._paused[key] = max(self._paused.get(key, 0.0), until)
            return until

    def _attempt(self, group: _Group) -> list[Outcome]:
        first = group.deliveries[0]
        if first.kind == "pagerduty":
            return [self.pagerduty.send(first)]
        assert self.slack is not None
        found: dict[int, Outcome] = {}
        for delivery in group.deliveries:
            if delivery.unsure:
                posted = self.slack.find_posted(delivery)
                if posted is not None:
                    found[delivery.id] = posted
        rest = [d for d in group.deliveries if d.id not in found]
        outcome = self.slack.send(rest, group.thread_ts) if rest else None
        return [found.get(d.id) or outcome or Outcome(False, code="internal") for d in group.deliveries]

    # -- bookkeeping (dispatcher thread) ---------------------------------------------------

    def _write(self, conn: sqlite3.Connection, finished: list[_Finished], starting: list[_Group], now: float) -> None:
        """Record what finished and mark what starts, in one transaction of few statements
        (rows that end the same way share one ``UPDATE … WHERE id IN``)."""
        add: dict[str, float] = {}
        policy = self.config.policy
        delivered: dict[str | None, list[int]] = {}
        deferred: list[tuple[float | None, int]] = []
        failed: list[tuple[str, str, int]] = []
        retried: list[tuple[str, str, float | None, int]] = []
        paused: dict[tuple[str, str], float] = {}
        for done in finished:
            for delivery, outcome in zip(done.group.deliveries, done.outcomes, strict=True):
                attempts = delivery.attempts + 1
                if outcome is DEFERRED:
                    deferred.append((done.retry_at, delivery.id))
                elif outcome.ok:
                    delivered.setdefault(outcome.result, []).append(delivery.id)
                    _count(add, f"delivered_total:{delivery.kind}")
                    _observe(add, done.ended - delivery.created_at)
                elif outcome.permanent or attempts >= policy.max_attempts:
                    failed.append((outcome.code, _with_attempts(outcome.error, attempts), delivery.id))
                    _count(add, f"failed_total:{delivery.kind}")
                    log.warning("delivery %d (%s) failed for good: %s", delivery.id, delivery.kind, outcome.error)
                else:
                    retried.append((outcome.code, outcome.error, done.retry_at, delivery.id))
                    _count(add, f"attempt_errors_total:{delivery.kind}")
            if done.retry_at is not None and done.outcomes[0] is not DEFERRED:
                kind, target = done.group.pause_key.split(":", 1)
                key = ("pagerduty" if kind == "pd" else kind, target)
                paused[key] = max(paused.get(key, 0.0), done.retry_at)
        steps: list[_Step] = []
        for result, ids in delivered.items():
            sql = (
                "UPDATE deliveries SET state = 'delivered', in_flight = 0, delivered_at = ?, result = ?,"
                " error_code = NULL, last_error = NULL"
            )
            steps += _by_ids(sql, (now, result), ids)
        steps.append(_Step("UPDATE deliveries SET in_flight = 0, attempts = attempts - 1, next_at = ? WHERE id = ?", [*deferred]))
        steps.append(
            _Step("UPDATE deliveries SET state = 'failed', in_flight = 0, error_code = ?, last_error = ? WHERE id = ?", [*failed])
        )
        steps.append(
            _Step("UPDATE deliveries SET in_flight = 0, error_code = ?, last_error = ?, next_at = ? WHERE id = ?", [*retried])
        )
        # a failed target's other queued deliveries wait too, and so leave the due set
        steps.append(
            _Step(
                "UPDATE deliveries SET next_at = ? WHERE state = 'pending' AND kind = ? AND target = ? AND next_at < ?"
                " AND in_flight = 0",
                [(until, kind, target, until) for (kind, target), until in paused.items()],
            )
        )
        marks = [d.id for group in starting for d in group.deliveries]
        steps += _by_ids(f"UPDATE deliveries SET in_flight = {IN_FLIGHT}, attempts = attempts + 1", (), marks)
        upsert = "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value"
        steps.append(_Step(f"{upsert} = value + excluded.value", [*add.items()]))
        steps.append(_Step(f"{upsert} = excluded.value", [("heartbeat", now)]))
        _run_in_short_transactions(conn, steps)

    def _housekeeping(self, conn: sqlite3.Connection, now: float) -> None:
        keys = self.keys.current()
        generation = self.keys.generation
        if generation != self._keys_generation:
            self._keys_generation = generation
            if not isinstance(keys, str):
                # a new routing keys file: what failed for a missing key gets another chance
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute(
                        "UPDATE deliveries SET state = 'pending', next_at = ?, attempts = 0"
                        " WHERE state = 'failed' AND error_code = 'no-routing-key'",
                        (now,),
                    )
        if now - self._last_checkpoint >= 1.0:
            self._last_checkpoint = now
            with contextlib.suppress(sqlite3.OperationalError, OSError):
                conn.execute(
                    "INSERT INTO counters (name, value) VALUES ('heartbeat', ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (now,),
                )
                # Copying the log into the database writes and fsyncs the database file,
                # which slows the intake's own fsyncs: do it when quiet, or when the log grows big.
                wal = os.path.getsize(f"{self.config.db_path}-wal")
                quiet = now - self._last_busy >= QUIET_SECONDS
                if wal > CHECKPOINT_BYTES or (quiet and wal > 0):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


ROWS_PER_TRANSACTION = 200
"""Rows the worker changes per transaction. The server waits for the write lock while the
worker holds it: a thousand-row digest recorded at once stalls every request for tens of
milliseconds, the same rows in slices of 200 for a few milliseconds each."""


@dataclass(frozen=True)
class _Step:
    sql: str
    rows: list[tuple[object, ...]]
    weight: int = 0
    """Rows it changes (when not one per parameter row)."""


YIELD_SECONDS = 0.003
"""Pause between two of the worker's slices, longer than the server's retry interval."""


def _by_ids(update: str, params: tuple[object, ...], ids: list[int]) -> list[_Step]:
    """``update … WHERE id IN (…)`` in slices, as steps for :func:`_run_in_short_transactions`."""
    steps = []
    for chunk in range(0, len(ids), ROWS_PER_TRANSACTION):
        part = ids[chunk : chunk + ROWS_PER_TRANSACTION]
        steps.append(_Step(f"{update} WHERE id IN ({','.join('?' * len(part))})", [(*params, *part)], len(part)))
    return steps


def _run_in_short_transactions(conn: sqlite3.Connection, steps: list[_Step]) -> None:
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
                begin(conn)
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
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _with_attempts(error: str, attempts: int) -> str:
    return f"{error} (after {attempts} attempt{'s' if attempts != 1 else ''})"


def _count(add: dict[str, float], name: str, value: float = 1.0) -> None:
    add[name] = add.get(name, 0.0) + value


def _observe(add: dict[str, float], seconds: float) -> None:
    seconds = max(0.0, seconds)
    for bound in LATENCY_BUCKETS:
        if seconds <= bound:
            _count(add, f"delivery_latency_bucket:{bound}")
    _count(add, "delivery_latency_sum", seconds)
    _count(add, "delivery_latency_count")


# -- running it --------------------------------------------------------------------------


class WorkerThread:
    """A worker in a thread of this process (tests, small installs)."""

    def __init__(self, config: WorkerConfig, **kwargs: Any) -> None:
        self.worker = Worker(config, **kwargs)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop_event,), name="opsctl-worker", daemon=True)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a killed server leaves no orphan sending."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _exclusive(db_path: Path) -> Any:
    """One worker per database: a lock file held for the worker's life (released when it dies)."""
    import fcntl

    handle = open(f"{db_path}.worker.lock", "a+")  # noqa: SIM115 - held until the process exits
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def worker_process_main(config: WorkerConfig, parent: int) -> None:
    """The worker process that ``opsctl serve`` starts (see :mod:`opsctl.router.server`)."""
    _die_with_parent()
    # Accepting comes first: an alert answered 202 is safe, and a sender that times out
    # retries and may give up. Sending gets the CPU the intake leaves, and catches up.
    with contextlib.suppress(OSError):
        os.nice(10)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server; it stops us after draining
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO, format="opsctl worker: %(message)s")
    for chatty in ("httpx", "httpx2", "slack_sdk"):  # one INFO line per request would cost more than the request
        logging.getLogger(chatty).setLevel(logging.WARNING)
    lock = _exclusive(config.db_path)
    if os.getppid() != parent:  # the server died while we waited for the lock
        return
    watcher = threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True)
    watcher.start()
    try:
        Worker(config).run(stop)
    finally:
        lock.close()


def _watch_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        if os.getppid() != parent:
            stop.set()


if __name__ == "__main__":  # python -m opsctl.router.worker PARENT_PID < pickled WorkerConfig
    import pickle
    import sys

    from opsctl.router import worker  # the module proper, not this __main__ copy of it

    worker.worker_process_main(pickle.load(sys.stdin.buffer), int(sys.argv[1]))
