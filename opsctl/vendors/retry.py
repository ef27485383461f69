"""The one retry policy: how long to wait before trying a failed request again.

Exponential back-off from ``base``, capped at ``cap``, half jittered so that many requests
failing together do not retry in lockstep; a wait the service asked for (``Retry-After``)
wins over the formula. Used by the PagerDuty REST client's own retries and by the alert
router's delivery worker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds form), else ``default``."""
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    return default


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 1.0
    """Seconds before the second attempt; each later one waits twice as long."""
    cap: float = 300.0
    """The longest wait between two attempts."""
    max_attempts: int = 30
    """Attempts before giving up (for the router: before a delivery is kept as failed;
    about two hours with the defaults)."""

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Wait after the ``failures``-th failure in a row: exponential, capped, half jittered."""
        raw: float = min(self.cap, self.base * 2.0 ** max(0, failures - 1))
        return raw / 2 + (rng or random).random() * raw / 2
