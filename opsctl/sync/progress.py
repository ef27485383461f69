"""Progress of long syncs: a rich bar on a terminal, nothing otherwise.

Adapters report through the :class:`Progress` protocol and never import rich; the
command line picks :class:`RichProgress` when stderr is a terminal (a bar, the count, the
time elapsed and an estimate of the time left, and what a wait is for) and
:class:`WaitLines` when it is not (cron, CI, pipes): one line per long wait, else quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None = None) -> None:
        """A new stage of work, with the number of steps when known."""

    def advance(self, steps: int = 1) -> None:
        """Steps of the current stage done."""

    def waiting(self, seconds: float, why: str) -> None:
        """The next request waits ``seconds`` (a rate limit, an outage, pacing)."""


class _Quiet:
    def start(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def waiting(self, seconds: float, why: str) -> None:
        pass


QUIET: Progress = _Quiet()


class RichProgress:
    """A transient rich progress display on stderr; use as a context manager."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None
        self._label = ""

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self._progress.stop()

    def start(self, label: str, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._label = label
        self._task = self._progress.add_task(label, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=self._label)
            self._progress.advance(self._task, steps)

    def waiting(self, seconds: float, why: str) -> None:
        if self._task is not None and why != "pacing":
            self._progress.update(self._task, description=f"{self._label} (waiting {seconds:.0f} s: {why})")


class WaitLines:
    """Off a terminal: nothing but a line for each long wait (cron logs say why a run was slow)."""

    def __init__(self, write: Callable[[str], None], *, at_least: float = 10.0) -> None:
        self.write = write
        self.at_least = at_least
        self.label = ""

    def start(self, label: str, total: int | None = None) -> None:
        self.label = label

    def advance(self, steps: int = 1) -> None:
        pass

    def waiting(self, seconds: float, why: str) -> None:
        if seconds >= self.at_least and why != "pacing":
            self.write(f"{self.label}: waiting {seconds:.0f} s ({why})")
