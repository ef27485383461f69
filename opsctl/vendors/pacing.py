"""Client-side pacing: send no faster than a service allows, so that its limits are never hit.

A :class:`Budget` is a token bucket: ``capacity`` requests may go at once, and the bucket
refills at ``rate`` requests a second. It never sleeps and never reads a clock: the caller
passes ``now`` (seconds on any monotonic clock) and gets back how long to wait, so the
same budget serves a command that sleeps between requests (sync) and a worker that
schedules sends for later (the alert router). What a service says about its own limits
(remaining requests and when the window resets, from its rate-limit headers, or a
``Retry-After``) tightens the budget through :meth:`Budget.observe` and
:meth:`Budget.hold`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
