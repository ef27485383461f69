"""Client-side pacing: send no faster than a service allows, so that its limits are never hit.

A :class:`Budget` is a token bucket: ``capacity`` requests may go at once, and the bucket
refills at ``rate`` requests a second. It never sleeps and never reads a clock: the caller
passes ``now`` (seconds on any monotonic clock) and gets back how long to wait, so the
same budget serves a command that sleeps between requests (sync) and a worker that
schedules sends for later (the alert router). What a service says about its own limits
(remaining requests and when the window resets, from its rate-limit headers, or a
``Retry-After``) tightens the budget through :meth:`Budget.observe` and
:meth:`Budget.hold`.

A :class:`Pacer` puts budgets to work for one command: it waits on a :class:`Clock`
(the system's, or a simulated one in tests) and decides how long to wait after a
transient failure, within a patience after which the command stops cleanly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from opsctl.vendors.retry import RetryPolicy


@dataclass
class Budget:
    """Requests allowed: ``capacity`` at once, refilled at ``rate`` per second."""

    rate: float
    """Requests per second, sustained."""
    capacity: float
    """Requests that may go in a burst; at least 1."""
    _tokens: float = field(init=False, default=0.0)
    _updated: float | None = field(init=False, default=None)
    _held_until: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.capacity < 1:
            raise ValueError("a budget needs a positive rate and a capacity of at least one request")

    @classmethod
    def per_minute(cls, requests: float, *, burst: float | None = None) -> Budget:
        """``requests`` a minute, with a burst of ``burst`` (default: a tenth of a minute's worth, at least 1)."""
        return cls(requests / 60.0, max(1.0, burst if burst is not None else requests / 10.0))

    def _refill(self, now: float) -> None:
        if self._updated is None:  # first use: a full bucket
            self._tokens, self._updated = self.capacity, now
            return
        if now > self._updated:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def wait(self, now: float, requests: float = 1.0) -> float:
        """Seconds from ``now`` until ``requests`` may be sent; takes them from the budget.

        Calls made one after another each reserve their place: the second caller waits for
        the first one's turn to pass, so several threads or rows can share one budget.
        """
        self._refill(now)
        self._tokens -= requests
        wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        return max(wait, self._held_until - now)

    def observe(self, now: float, *, remaining: float, reset_in: float) -> None:
        """The service says ``remaining`` requests are left in a window that resets in
        ``reset_in`` seconds: spend no more than that before the reset."""
        self._refill(now)
        if remaining <= 0 and reset_in > 0:
            self.hold(now, reset_in)
            return
        self._tokens = min(self._tokens, remaining)

    def hold(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` from ``now`` (a ``Retry-After``, a window to wait out)."""
        self._held_until = max(self._held_until, now + max(0.0, seconds))


@dataclass
class PacerStats:
    """What a :class:`Pacer` met, for progress lines and benchmarks."""

    requests: int = 0
    rate_limited: int = 0
    """Answers that said "too many requests" (HTTP 429, Slack's ``ratelimited``)."""
    failures: int = 0
    """Transient failures retried (5xx, network), not counting rate limits."""
    waited: float = 0.0
    """Seconds spent waiting, in all."""


class Clock(Protocol):
    """Seconds on a monotonic clock, and a way to let them pass."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's monotonic clock and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


Waiting = Callable[[float, str], None]
"""Told before a wait of note: seconds, and why (a rate limit, an outage)."""


@dataclass
class Pacer:
    """The requests of one command to one service: paced by budgets, retried while transient.

    Each request names its budget (PagerDuty: ``rest``, per token; Slack: the method's
    tier). :meth:`before` waits for its turn; :meth:`after_response` reads what the
    service said about its limits; :meth:`retry_wait` decides, after a transient failure,
    how long to wait before the next attempt, or that ``patience`` is spent (the service
    has been failing for that long) and the caller should give up. The only sleeps of a
    sync are here, on ``clock``, so tests pass a simulated clock.
    """

    budgets: dict[str, Budget]
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(base=1.0, cap=60.0))
    patience: float = 600.0
    """Seconds one request may keep failing transiently (429s, 5xx, network) before giving up."""
    clock: Clock = field(default_factory=SystemClock)
    on_wait: Waiting | None = None
    stats: PacerStats = field(default_factory=PacerStats)
    rng: random.Random | None = None

    def budget(self, key: str) -> Budget:
        found = self.budgets.get(key)
        if found is None:
            found = self.budgets[key] = Budget.per_minute(60)
        return found

    def _sleep(self, seconds: float, why: str) -> None:
        if seconds <= 0:
            return
        if self.on_wait is not None and seconds >= 1.0:
            self.on_wait(seconds, why)
        self.stats.waited += seconds
        self.clock.sleep(seconds)

    def before(self, key: str) -> float:
        """Wait for the request's turn in its budget; the clock reading when it may go."""
        now = self.clock.monotonic()
        self._sleep(self.budget(key).wait(now), "pacing")
        self.stats.requests += 1
        return self.clock.monotonic()

    def after_response(self, key: str, *, remaining: float | None, reset_in: float | None) -> None:
        """The service's own count of what is left in its window (rate-limit headers)."""
        if remaining is not None and reset_in is not None:
            self.budget(key).observe(self.clock.monotonic(), remaining=remaining, reset_in=reset_in)

    def retry_wait(self, key: str, *, failures: int, first_failure: float, rate_limited: bool, told: float | None) -> bool:
        """After a transient failure: wait before the next attempt and return True, or return
        False when the request has been failing for longer than ``patience``.

        ``told`` is what the service asked for (``Retry-After``, a rate-limit reset); else
        the back-off formula decides. A rate limit holds the whole budget, so other requests
        of this command wait too.
        """
        if rate_limited:
            self.stats.rate_limited += 1
        else:
            self.stats.failures += 1
        now = self.clock.monotonic()
        wait = told if told is not None and told >= 0 else self.retry.delay(failures, self.rng)
        if now + wait - first_failure > self.patience:
            return False
        if rate_limited:
            self.budget(key).hold(now, wait)
        self._sleep(wait, "rate limited" if rate_limited else "the service is failing")
        return True
