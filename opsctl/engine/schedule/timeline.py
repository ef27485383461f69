"""The values the engine returns: shifts, slots and the trail that explains them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Layer = Literal["base", "roster", "swap", "reduced", "secondary", "override"]


@dataclass(frozen=True)
class Step:
    """One thing a layer did to a shift, in words, for `opsctl explain`."""

    layer: Layer
    text: str
    brief: str = ""
    """A few words for tables; ``text`` when empty."""

    @property
    def short(self) -> str:
        return self.brief or self.text


@dataclass(frozen=True)
class Interval:
    """A half-open interval of UTC instants."""

    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Shift:
    """Shift ``index`` of a rotation after swaps, with its secondary; before overrides."""

    rotation: str
    index: int
    start: datetime
    end: datetime
    base_primary: str
    primary: str
    secondary: str | None
    swapped_with: int | None
    swap_asked: bool
    """This shift's base primary was unavailable and asked for the swap (the other shift of the pair: False)."""
    no_swap: bool
    """The primary is unavailable during part of the shift and nobody could swap (reduced duty)."""
    trail: tuple[Step, ...]
    secondary_reduced: bool = False
    """No member was available for the whole shift: ``secondary`` is the next member, with reduced duty."""


@dataclass(frozen=True)
class Slot:
    """A stretch of one shift during which the answer to "who is on call" does not change.

    Slots of a rotation tile any window from the rotation's first shift on, with no gap
    and no overlap. ``reduced`` means the primary is unavailable during the slot, so the
    secondary is paged first (reduced duty); ``secondary_reduced`` that no member could
    take the whole shift as secondary, so ``secondary`` holds it with reduced duty.
    ``trail`` says why, step by step.
    """

    rotation: str
    team: str
    shift: int
    shift_start: datetime
    shift_end: datetime
    start: datetime
    end: datetime
    primary: str
    secondary: str | None
    primary_available: bool
    secondary_available: bool | None
    trail: tuple[Step, ...]
    secondary_reduced: bool = False

    @property
    def reduced(self) -> bool:
        """Reduced duty: the primary is unavailable now and the secondary is paged first."""
        return not self.primary_available

    @property
    def covered(self) -> bool:
        """Whether somebody on call can take a page during this slot."""
        return self.primary_available or bool(self.secondary_available)

    @property
    def reasons(self) -> list[str]:
        """The trail without the base assignment: why the answer differs from the plain rotation."""
        return [step.text for step in self.trail if step.layer != "base"]

    @property
    def brief_reasons(self) -> list[str]:
        """:attr:`reasons` in a few words each, for tables."""
        return [step.short for step in self.trail if step.layer != "base"]
