"""Carrying out a plan: every change that can be made, in order, and an account of the rest.

Refusals that a rerun would meet again are found by the diff and reported in the plan;
what the service still refuses during an apply (somebody changed something between the
plan and the apply) is recorded and the apply goes on with the changes that do not
depend on it. A transient failure that outlasts the pacer's patience (an outage, a storm
of 429s) stops the apply cleanly: what was done stays done, and the next run finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opsctl.sync.plan import Change
from opsctl.sync.progress import QUIET, Progress


class Skip(Exception):
    """A change that cannot be made because one it depends on was not."""


class PartlyRefused(Exception):
    """A request that made some of its changes: ``writes`` made, ``refused`` (change, why) not."""

    def __init__(self, writes: int, refused: list[tuple[Change, str]]) -> None:
        super().__init__(f"{len(refused)} refused")
        self.writes = writes
        self.refused = refused


@dataclass(frozen=True)
class Step:
    """Changes made by one request, and the request: returns the writes made (0 or more)."""

    changes: tuple[Change, ...]
    run: Callable[[], int]


@dataclass
class ApplyResult:
    target: str
    total: int
    writes: int = 0
    done: int = 0
    ids: dict[str, str] = field(default_factory=dict)
    """Managed key → remote id, after the apply (PagerDuty)."""
    refused: list[tuple[Change, str]] = field(default_factory=list)
    """Changes the service refused, and its answer."""
    skipped: list[Change] = field(default_factory=list)
    """Changes not tried because one they depend on was refused."""
    stopped: str = ""
    """Why the apply stopped before the end (a transient failure that lasted), or ``""``."""

    @property
    def complete(self) -> bool:
        return not (self.refused or self.skipped or self.stopped)

    def problem(self) -> str:
        """One paragraph for the user when something was not done, else ``""``."""
        if self.complete:
            return ""
        parts = [f"{self.target}: {self.done} of {self.total} changes made ({self.writes} writes)"]
        if self.refused:
            change, why = self.refused[0]
            more = f" and {len(self.refused) - 1} more" if len(self.refused) > 1 else ""
            parts.append(f"refused: {change.action} {change.kind} {change.title!r} ({change.key}): {why}{more}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} not tried because a change they need was refused")
        if self.stopped:
            parts.append(f"stopped: {self.stopped}; the failure is transient: run the sync again to finish")
        elif self.refused:
            parts.append("fix what was refused, then run the sync again")
        return "; ".join(parts)


def apply_steps(target: str, steps: Sequence[Step], total: int, progress: Progress = QUIET) -> ApplyResult:
    """Run ``steps`` in order; vendor failures are recorded, never raised (see :class:`ApplyResult`)."""
    from opsctl.vendors.errors import VendorError, translated

    result = ApplyResult(target, total)
    progress.start(f"{target}: applying", total=total)
    for step in steps:
        try:
            with translated():
                result.writes += step.run()
        except Skip:
            result.skipped.extend(step.changes)
        except PartlyRefused as partly:
            result.writes += partly.writes
            result.refused.extend(partly.refused)
            result.done += len(step.changes) - len(partly.refused)
        except VendorError as failed:
            if failed.transient:
                first = step.changes[0]
                result.stopped = f"{failed}; while trying to {first.action} {first.kind} {first.title!r}"
                break
            result.refused.extend((change, failed.message) for change in step.changes)
        else:
            result.done += len(step.changes)
        progress.advance(len(step.changes))
    return result
