"""The delivery worker: sends what the outbox holds, until it is sent or a person must act.

One dispatcher thread owns the worker's database connection. Each turn it records the
outcomes of finished sends, claims the deliveries that are due (leasing them, see
:mod:`opsctl.router.store.base`) and hands them to a small thread pool of senders.

- Order. A delivery waits while an earlier one with the same ``order_key`` is pending, so
  a resolve never overtakes its trigger and a Slack reply finds the message it threads on.
- Retries. A failed attempt is tried again after the back-off of
  :class:`~opsctl.vendors.retry.RetryPolicy`, or after ``Retry-After`` when the service
  sent one. The failure also pauses its target (a PagerDuty routing target, a Slack
  channel or person): while it fails, one delivery at a time goes to it (a *probe*) and
  the back-off grows once per probe, not once per queued delivery; when a probe goes
  through, everything that waited for the target is due at once. After ``max_attempts``,
  or at once for a refusal a person must fix (no routing key, unknown channel), the
  delivery is kept as *failed*, listed by ``opsctl alerts list --state failed`` and
  queued again by ``retry``.
- Pacing. PagerDuty takes a limited number of events per minute per integration key
  (:data:`PAGERDUTY_EVENTS_PER_MINUTE`); each key has a token bucket
  (:class:`~opsctl.vendors.pacing.Budget`), shared out among the live workers, and an
  event that would overrun it waits for its turn instead of meeting a 429. Slack allows
  about one message per second per channel; messages for a channel (or person) that wait
  for their turn go out together as one digest.
- Crashes. A delivery claimed by a worker that stopped before recording how the send went
  is *unsure*: PagerDuty events are sent again (the dedup key makes that harmless) and
  Slack messages only if the channel does not already hold them (one history read per
  channel, see :class:`~opsctl.router.delivery.SlackSender`).
- Failures of the database. A turn that fails (the database is away, or its file was
  replaced) is logged with its stack; the worker keeps what it has not recorded yet,
  waits (growing back-off) and connects again.

:mod:`opsctl.router.supervisor` runs the worker in a process of its own under ``opsctl
serve``; tests run it in a thread (:class:`WorkerThread`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from opsctl.router.delivery import Outcome, PagerDutySender, SlackSender
from opsctl.router.store import Delivery, Store, open_store
from opsctl.router.store.base import Step
from opsctl.router.store.sqlite import ROWS_PER_TRANSACTION
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.pacing import Budget
from opsctl.vendors.retry import RetryPolicy
from opsctl.vendors.routing_keys import RoutingKeyFile

log = logging.getLogger("opsctl.router.worker")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Upper bounds (seconds) of the accepted → delivered histogram in /metrics."""
PAGERDUTY_EVENTS_PER_MINUTE = 120.0
"""PagerDuty's Events API v2 limit per integration key (its "Events API rate limits" page)."""
QUIET_SECONDS = 2.0
"""The log is checkpointed once the worker had nothing to do for this long."""
DIGEST_MAX = 2000
"""Most messages one Slack post carries (listed in part, counted in full)."""
PROBE_WAIT = 30.0
"""While a probe of a failing target is out, the target's other deliveries wait this long
at most (a probe that goes through releases them at once)."""


def pagerduty_budget(per_minute: float, workers: int) -> Budget:
    """One worker's share of a routing key's limit: a burst of a tenth of a minute's worth,
    refilled so that burst and refill together never pass ``per_minute`` in any minute."""
    burst = max(1.0, per_minute / 10.0 / workers)
    return Budget(max(0.01, (per_minute / workers - burst) / 60.0), burst)


def worker_id(server_pid: int | None = None) -> str:
    """The name a worker leases under: its host and its server's process id, so that the next
    worker of the same server takes over at once what a crashed one had claimed."""
    return f"{socket.gethostname()}:{server_pid or os.getpid()}"


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs; picklable, so a worker process can be started from it."""

    database: str
    """A SQLite file path or a ``postgresql://`` URL."""
    vendor: VendorConfig
    routing_keys: str | None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    owner: str = field(default_factory=worker_id)
    threads: int = 4
    """Concurrent sends. More only add interpreter-lock contention against a fast service."""
    poll: float = 0.01
    """Seconds between looks at the outbox when there is nothing to do."""
    turn: float = 0.005
    """Seconds between two rounds while busy: each round records and starts a batch."""
    slack_pace: float = 1.0
    """Seconds between two posts to one Slack channel or person."""
    events_per_minute: float = PAGERDUTY_EVENTS_PER_MINUTE
    """PagerDuty events per minute per routing key, shared by the live workers."""


@dataclass(frozen=True)
class _Finished:
    group: _Group
    outcomes: list[Outcome]
    ended: float
    retry_at: float | None
    """When the group's target may be tried again, after a failure or while it was paused."""


DEFERRED = Outcome(False, code="deferred")
"""Not sent (its turn had not come: a paused target, the pacing budget): not an attempt."""


@dataclass
class _Group:
    """What one send covers: a PagerDuty event, or one or more Slack posts to one target."""

    pause_key: str
    deliveries: list[Delivery]
    thread_ts: str | None = None
    started: float = 0.0


class Worker:
    def __init__(self, config: WorkerConfig, *, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng or random.Random()
        self.owner = config.owner
        self.keys = RoutingKeyFile(None if config.routing_keys is None else _path(config.routing_keys))
        self.pagerduty = PagerDutySender(config.vendor, self.keys)
        self.slack: SlackSender | None = SlackSender(config.vendor, clock=clock) if config.vendor.slack_token else None
        self.store: Store | None = None
        self._done: queue.SimpleQueue[_Finished] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._in_flight: set[int] = set()
        self._unrecorded: list[_Finished] = []
        self._deferred: list[tuple[float, int]] = []
        self._paused: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._failed_at: dict[str, float] = {}
        self._probing: set[str] = set()
        self._release: set[str] = set()
        self._slack_next: dict[str, float] = {}
        self._budgets: dict[str, Budget] = {}
        self._reserved: dict[int, float] = {}
        self._workers = 1
        self._next_slack_look = 0.0
        self._keys_generation = 0
        self._last_housekeeping = 0.0
        self._last_busy = 0.0

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set. Failures of the database are logged and waited out."""
        pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix="opsctl-send")
        conn = None
        failures = 0
        moved = False
        try:
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = self._connect(first=self.store is None or moved)
                        moved = False
                    busy = self.turn(conn, pool)
                    failures = 0
                except Exception as exc:  # the worker loop's edge: log the stack, back off, connect again
                    moved = isinstance(exc, DatabaseMoved)
                    failures += 1
                    wait = RetryPolicy(base=0.5, cap=30.0).delay(failures, self.rng)
                    log.exception("delivery paused for %.1f s: %s: %s", wait, type(exc).__name__, str(exc).strip())
                    self._disconnect(conn)
                    conn = None
                    stop.wait(wait)
                    continue
                if busy:
                    # busy: let sends finish and pile up, so each turn records and starts a batch
                    stop.wait(self.config.turn)
                else:
                    self._wake.wait(self.config.poll)
                    self._wake.clear()
            pool.shutdown(wait=True)
            if conn is not None:
                with contextlib.suppress(Exception):  # stopping: what cannot be recorded is sent again later
                    self.turn(conn, None)  # record what finished while stopping
            log.info("stopped; every send that was under way is recorded")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self._disconnect(conn)
            if self.store is not None:
                self.store.close()

    def _connect(self, *, first: bool) -> Any:
        """A connection; the ``first`` of this worker (or the first to a file that was
        replaced) also frees what an earlier worker of this name had claimed."""
        if self.store is None:
            self.store = open_store(self.config.database)
        conn = self.store.connect(durable=False)
        now = self.clock()
        if first:
            self.store.start_worker(conn, self.owner, now, socket.gethostname(), os.getpid())
        else:
            with self.store.transaction(conn):
                self.store.heartbeat(conn, self.owner, now, host=socket.gethostname(), pid=os.getpid())
                # a claim whose commit was cut off may have gone through unseen: free it (unsure)
                self.store.free_leases(conn, self.owner, keep=self._in_flight)
            log.warning("connected to the alert database again; delivery resumes")
        return conn

    def _disconnect(self, conn: Any) -> None:
        if conn is not None and self.store is not None:
            with contextlib.suppress(Exception):  # a broken connection: only let go of it
                self.store.release(conn)

    def turn(self, conn: Any, pool: ThreadPoolExecutor | None) -> bool:
        """One round: record outcomes, claim due deliveries, start them. True when there was anything to do."""
        store = self.store
        assert store is not None
        now = self.clock()
        while True:
            try:
                self._unrecorded.append(self._done.get_nowait())
            except queue.Empty:
                break
        finished = self._unrecorded
        steps: list[Step] = []
        if finished or self._deferred:
            steps = self._record_steps(finished, now)
            if self._release or pool is None or sum(step.weight or len(step.rows) for step in steps) > ROWS_PER_TRANSACTION:
                # recorded on their own: before a target is released, or too many rows for one
                # transaction (SQLite slices them); else in the transaction of the turn's claim
                store.run_steps(conn, steps)
                steps = []
                self._recorded(finished)
        for key in list(self._release):
            kind, target = _target_of(key)
            store.release_target(conn, kind, target, now)
            self._release.discard(key)
        groups: list[_Group] = []
        if pool is not None:

            def start(group: _Group) -> None:
                # at once: a claim that fails later in the turn must not strand this one
                self._in_flight.update(d.id for d in group.deliveries)
                group.started = now
                groups.append(group)
                pool.submit(self._send, group)

            self._pick(conn, now, start, steps, finished)
        if finished or groups:
            self._last_busy = now
        if self._deferred:
            self._record(conn, [], now)
        self._housekeeping(conn, now)
        return bool(groups) or bool(finished) or bool(self._in_flight)

    def _pick(self, conn: Any, now: float, start: Callable[[_Group], None], steps: list[Step], finished: list[_Finished]) -> None:
        """Claim what is due and ``start`` each send as soon as it is claimed; ``steps`` record
        ``finished`` (and what was deferred) in the transaction of the PagerDuty claim."""
        store = self.store
        assert store is not None
        if steps:
            ending = {d.id for done in finished for d in done.group.deliveries}
            free = max(0, self.config.threads * 8 - len(self._in_flight - ending))
            deferred, self._deferred = self._deferred, []
            try:
                claimed = store.claim_pagerduty(conn, now, free, self.owner, steps=steps)
            except BaseException:
                self._deferred = deferred + self._deferred
                raise
            self._recorded(finished)
        else:
            free = self.config.threads * 8 - len(self._in_flight)
            claimed = store.claim_pagerduty(conn, now, free, self.owner) if free > 0 else []
        if claimed:
            for row in claimed:
                key = "pd:" + row.target
                if not self._may_send(key, now):
                    self._defer(row, self._paused.get(key, now + PROBE_WAIT) if key not in self._probing else now + PROBE_WAIT)
                    continue
                turn = self._pacing_turn(row, now)
                if turn > now:
                    self._defer(row, turn)
                    continue
                if self._failures.get(key):
                    self._probing.add(key)
                start(_Group(key, [row]))
        if self.slack is not None and now >= self._next_slack_look:
            # Slack rows wait for their target's turn (about one post per second per channel):
            # look a few times a second, and send what waits for a target as one digest
            self._next_slack_look = now + min(0.25, self.config.slack_pace / 4)
            for kind, target, reply_due in store.due_slack_targets(conn, now):
                key = f"{kind}:{target}"
                if not self._may_send(key, now) or self._slack_next.get(key, 0.0) > now:
                    continue
                group = None
                replies = store.claim_for_target(conn, kind, target, now, 1, self.owner, action="reply") if reply_due else []
                if replies:
                    # a reply goes alone, into the thread of its incident's first message
                    group = _Group(key, replies)
                    try:
                        group.thread_ts = store.thread_of(conn, replies[0])
                    finally:
                        start(group)
                else:
                    limit = 1 if self._failures.get(key) else DIGEST_MAX
                    rows = store.claim_for_target(conn, kind, target, now, limit, self.owner, action="post")
                    if not rows:
                        continue
                    start(_Group(key, rows))
                if self._failures.get(key):
                    self._probing.add(key)
                self._slack_next[key] = now + self.config.slack_pace

    def _may_send(self, key: str, now: float) -> bool:
        """A paused target waits; a failing one takes one probe at a time."""
        if self._paused.get(key, 0.0) > now:
            return False
        return key not in self._probing

    def _defer(self, row: Delivery, until: float) -> None:
        self._deferred.append((until, row.id))

    def _pacing_turn(self, row: Delivery, now: float) -> float:
        """When ``row`` may go without overrunning its routing key's budget (``now``: at once)."""
        reserved = self._reserved.get(row.id)
        if reserved is not None:
            if reserved > now + 0.001:
                return reserved  # claimed before its turn (a clock step): its place is kept
            del self._reserved[row.id]
            return now
        routing_key, _ = self.keys.lookup(row.target)
        if routing_key is None:
            return now  # refused at once for want of a key: nothing reaches PagerDuty
        budget = self._budgets.get(routing_key)
        if budget is None:
            budget = self._budgets[routing_key] = pagerduty_budget(self.config.events_per_minute, self._workers)
        turn = now + budget.wait(now)
        if turn > now:
            self._reserved[row.id] = turn
        return turn

    # -- sending (pool threads) ------------------------------------------------------------

    def _send(self, group: _Group) -> None:
        until = self._paused.get(group.pause_key, 0.0)
        if until > self.clock():
            # the target failed while this send waited for a thread: not an attempt, not a probe
            self._done.put(_Finished(group, [DEFERRED] * len(group.deliveries), self.clock(), until))
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
            retry_at = self._pause(group, transient[0], ended)
        else:
            with self._lock:
                if self._failures.pop(group.pause_key, None):
                    self._release.add(group.pause_key)
        with self._lock:
            self._probing.discard(group.pause_key)
        self._done.put(_Finished(group, outcomes, ended, retry_at))
        self._wake.set()

    def _pause(self, group: _Group, outcome: Outcome, ended: float) -> float:
        """Pause the group's target after a failure, at once, so that sends queued for it wait
        too; returns when to try again (Retry-After, else the back-off of its probes in a row).

        Sends that started before the target's last failure was seen are the same round
        failing again: they extend nothing, so the back-off grows once per probe."""
        key = group.pause_key
        with self._lock:
            failures = self._failures.get(key, 0)
            if failures == 0 or group.started >= self._failed_at.get(key, 0.0):
                failures += 1
                self._failures[key] = failures
                self._failed_at[key] = ended
            wait = outcome.retry_after if outcome.retry_after is not None else self.config.policy.delay(failures, self.rng)
            until = max(self._paused.get(key, 0.0), ended + wait)
            self._paused[key] = until
            if outcome.code == "rate-limited" and group.deliveries[0].kind == "pagerduty":
                routing_key, _ = self.keys.lookup(group.deliveries[0].target)
                budget = self._budgets.get(routing_key or "")
                if budget is not None:
                    budget.hold(ended, wait)
            return until

    def _attempt(self, group: _Group) -> list[Outcome]:
        first = group.deliveries[0]
        if first.kind == "pagerduty":
            return [self.pagerduty.send(first)]
        assert self.slack is not None
        unsure = [d for d in group.deliveries if d.unsure]
        found = self.slack.find_posted(unsure) if unsure else {}
        rest = [d for d in group.deliveries if d.id not in found]
        outcome = self.slack.send(rest, group.thread_ts) if rest else None
        return [found.get(d.id) or outcome or Outcome(False, code="internal") for d in group.deliveries]

    # -- bookkeeping (dispatcher thread) ---------------------------------------------------

    def _record(self, conn: Any, finished: list[_Finished], now: float) -> None:
        """Record what finished (rows that end the same way share one statement)."""
        store = self.store
        assert store is not None
        store.run_steps(conn, self._record_steps(finished, now))
        self._deferred = []

    def _recorded(self, finished: list[_Finished]) -> None:
        """``finished`` and what was deferred are in the database: forget them."""
        self._deferred = []
        if finished is self._unrecorded:
            self._unrecorded = []
        for done in finished:
            self._in_flight.difference_update(d.id for d in done.group.deliveries)

    def _record_steps(self, finished: list[_Finished], now: float) -> list[Step]:
        """The statements that record ``finished`` and what was deferred."""
        store = self.store
        assert store is not None
        add: dict[str, float] = {}
        policy = self.config.policy
        delivered: dict[str | None, list[int]] = {}
        deferred: list[tuple[float | None, int]] = [(until, row) for until, row in self._deferred]
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
                paused[_target_of(done.group.pause_key)] = max(paused.get(_target_of(done.group.pause_key), 0.0), done.retry_at)
        return store.outcome_steps(
            self.owner,
            now,
            delivered=delivered,
            deferred=deferred,
            failed=failed,
            retried=retried,
            paused=paused,
            counters=add,
            rows_per_step=ROWS_PER_TRANSACTION,
        )

    def _housekeeping(self, conn: Any, now: float) -> None:
        store = self.store
        assert store is not None
        keys = self.keys.current()
        generation = self.keys.generation
        if generation != self._keys_generation:
            self._keys_generation = generation
            if not isinstance(keys, str):
                store.requeue_missing_key(conn, now)
        if now - self._last_housekeeping < 1.0:
            return
        self._last_housekeeping = now
        problem = store.problem(conn)
        if problem is not None:
            raise DatabaseMoved(problem)
        with store.transaction(conn):
            store.heartbeat(conn, self.owner, now)
        workers = max(1, store.live_workers(conn, now))
        if workers != self._workers:
            self._workers = workers
            shared = pagerduty_budget(self.config.events_per_minute, workers)
            for budget in self._budgets.values():
                budget.rate, budget.capacity = shared.rate, shared.capacity
        store.maintenance(conn, now, quiet=now - self._last_busy >= QUIET_SECONDS)


class DatabaseMoved(Exception):
    """The worker's database file is no longer the one it opened: connect to it again."""


def _target_of(pause_key: str) -> tuple[str, str]:
    kind, target = pause_key.split(":", 1)
    return ("pagerduty" if kind == "pd" else kind), target


def _path(text: str) -> Any:
    from pathlib import Path

    return Path(text)


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
