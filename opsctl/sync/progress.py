"""Progress of long syncs: a rich bar on a terminal, nothing otherwise.

Adapters report through the :class:`Progress` protocol and never import rich; the
command line picks :class:`RichProgress` when stderr is a terminal and
:data:`QUIET` when it is not (cron, CI, pipes).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None = None) -> None:
        """A new stage of work, with the number of steps when known."""

    def advance(self, steps: int = 1) -> None:
        """Steps of the current stage done."""


class _Quiet:
    def start(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


QUIET: Progress = _Quiet()


class RichProgress:
    """A transient rich progress display on stderr; use as a context manager."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self._progress.stop()

    def start(self, label: str, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(label, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)
