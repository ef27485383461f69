"""The freshness watchdog's loop: once a second, on one replica at a time, raise what
:func:`opsctl.router.freshness.check` finds stale.

It runs in the server beside the intake (the server holds the org and the router that
stale alerts are decided with) and does its work through the intake's writer, in the same
transactions as alerts: a stale alert is stored exactly as a failure is
(:func:`opsctl.router.intake.raise_stale`), and the delivery worker sends it.

One replica at a time. Each check first renews a lease in the store
(:func:`opsctl.router.store.freshness.take_lease`, :data:`LEASE_SECONDS` long); a replica
that does not hold it checks nothing. When the holder dies or loses the database, the lease
lapses and another replica takes it at its next check. Even with two checks at once, a
pipeline is only marked stale while its row holds the success the check read, so one
silence raises one alert (its event key, ``stale:<pipeline>:<reference>``, would make a
second a duplicate anyway).

Silence is the signal: the watchdog reads no source, so a source that stops sending (its
webhook misconfigured, the scheduler down) is exactly what it notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsctl.router.freshness import Watch, check
from opsctl.router.intake import raise_stale
from opsctl.router.routing import Router
from opsctl.router.store import LEASE_SECONDS, Store, StoreUnavailable
from opsctl.router.store.writer import Writer

log = logging.getLogger("opsctl.router")

INTERVAL = 1.0
"""Seconds between two checks."""
MAX_RAISED_PER_CHECK = 20
"""Stale alerts one check stores at most; the rest wait for the next checks. A check shares the
intake's writer, and raising an alert costs about a millisecond: after an outage of a whole
scheduler, a thousand stale pipelines must not hold every incoming alert for a second or more."""


@dataclass
class CheckStats:
    """What the watchdog did so far, for tests and the bench."""

    checks: int = 0
    held: int = 0
    """Checks run while holding the lease."""
    raised: int = 0
    resolved: int = 0
    cpu: float = 0.0
    """Process CPU seconds spent in checks (``time.thread_time`` of the writer's thread)."""


class Watchdog:
    """Checks the freshness of every pipeline each :data:`INTERVAL`; see the module docstring."""

    def __init__(
        self,
        router: Router,
        store: Store,
        writer: Writer,
        watches: list[Watch],
        *,
        clock: Callable[[], datetime],
        owner: str,
        slack: bool,
        interval: float = INTERVAL,
    ) -> None:
        self.router = router
        self.store = store
        self.writer = writer
        self.watches = watches
        self.clock = clock
        self.owner = owner
        self.slack = slack
        self.interval = interval
        self.stats = CheckStats()
        self._stop = asyncio.Event()
        self._problem: str | None = None

    def check_once(self, conn: Any) -> bool:
        """One check in the transaction open on ``conn``; False when another replica holds the lease."""
        from opsctl.router.store.freshness import WATCHDOG_LEASE, seen_all, take_lease

        started = time.thread_time()
        try:
            at = self.clock()
            now = at.timestamp()
            self.stats.checks += 1
            if not take_lease(self.store, conn, WATCHDOG_LEASE, self.owner, LEASE_SECONDS):
                return False
            self.stats.held += 1
            verdict = check(self.watches, seen_all(self.store, conn), now)
            for stale in verdict.stale[:MAX_RAISED_PER_CHECK]:
                stored = raise_stale(
                    self.router, self.store, conn, stale.alert, stale.last_success, stale.reference, at=at, slack=self.slack
                )
                if stored is not None:
                    self.stats.raised += 1
                    log.warning("stale: %s: %s (alert %d)", stale.alert.ids.names[0], stale.alert.summary, stored.id)
            for fresh in verdict.fresh:
                if raise_stale(self.router, self.store, conn, fresh, None, now, at=at, slack=self.slack) is not None:
                    self.stats.resolved += 1
            return True
        finally:
            self.stats.cpu += time.thread_time() - started

    async def run(self) -> None:
        """Check until :meth:`stop`; a failing database is logged once and checked again next time."""
        while not self._stop.is_set():
            try:
                await self.writer.run(self.check_once)
                if self._problem is not None:
                    log.warning("the freshness watchdog runs again")
                self._problem = None
            except Exception as exc:  # the loop's edge: the next check tries again
                problem = f"{type(exc).__name__}: {str(exc).strip()}"
                if problem != self._problem:
                    expected = isinstance(exc, (StoreUnavailable, *self.store.errors))
                    log.error("the freshness watchdog could not check: %s", problem, exc_info=not expected)
                self._problem = problem
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def stop(self) -> None:
        """Stop checking and give the lease up, so another replica takes over at once."""
        from opsctl.router.store.freshness import WATCHDOG_LEASE, release_lease

        self._stop.set()

        def release(conn: Any) -> None:
            release_lease(self.store, conn, WATCHDOG_LEASE, self.owner)

        with contextlib.suppress(Exception):  # stopping: a lease not given back lapses by itself
            await self.writer.run(release)
