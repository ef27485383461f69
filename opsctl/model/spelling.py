"""How values are written in the YAML files.

The model types its fields with domain values (``timedelta``, ``time``, ``date``); the
files spell them as short strings (``30m``, ``09:00``, ``2026-01-05``). This module owns
both directions for durations and clock times, and the :class:`Spelled` marker that tells
the loader and the JSON Schema generator how a field is written.

It imports nothing heavy: the model and the loader are on the path of every command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import time, timedelta
from typing import Any

DURATION_PATTERN = r"^\s*([0-9]+\s*(w|d|h|m)\s*)+$"
_DURATION_PART = re.compile(r"([0-9]+)\s*(w|d|h|m)")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}

CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Spelled:
    """An ``Annotated`` marker: the JSON Schema of a field as written in YAML.

    ``pattern`` is also enforced by the loader, so the schema and the validator agree.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        *,
        pattern: str | None = None,
        what: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        self.schema = dict(schema)
        if pattern is not None:
            self.schema["pattern"] = pattern
        self.pattern = re.compile(pattern) if pattern is not None else None
        self.what = what
        self.check = check
        """Further check of the text: returns a message when the value is wrong."""

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not spelled right, or None."""
        if self.pattern is not None and not self.pattern.match(value):
            return f"{value!r} is not {self.what}"
        return self.check(value) if self.check is not None else None

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        # Called by pydantic when `opsctl schema` builds the JSON Schema; the model never
        # imports pydantic itself.
        return dict(self.schema)


DURATION = Spelled(
    {"type": "string", "examples": ["30m", "4h", "1d", "1w", "1d12h"]},
    pattern=DURATION_PATTERN,
    what="a duration such as 30m, 4h, 1d or 1w",
)
CLOCK = Spelled(
    {"type": "string", "examples": ["09:00", "17:30"]},
    pattern=CLOCK_PATTERN,
    what="a clock time HH:MM",
)


def check_timezone(name: str) -> str | None:
    """None when ``name`` is an IANA time zone, else a message with a did-you-mean."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
        return None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        from opsctl.model.zone_names import suggest_zone

        return f"unknown time zone {name!r}{suggest_zone(name)}"


TIMEZONE = Spelled(
    {"type": "string", "examples": ["Europe/Berlin", "America/Chicago"]},
    what="an IANA time zone",
    check=check_timezone,
)
EMAIL = Spelled({"type": "string", "format": "email"}, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", what="an email address")
URL = Spelled({"type": "string", "format": "uri"}, pattern=r"^https?://\S+$", what="an http(s) URL")
DATE_OR_TIME = Spelled(
    {"type": "string", "examples": ["2026-12-24", "2026-12-24T09:00", "2026-12-24T09:00:00+01:00"]},
    pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$",
    what="a date (YYYY-MM-DD) or an ISO 8601 datetime",
)
IDENTIFIER = Spelled(
    {"type": "string"},
    pattern=ID_PATTERN,
    what="an id of lowercase letters, digits, '-', '_' or '.'",
)


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``4h``, ``1d``, ``1w`` or a sum such as ``1d12h``.

    Raises ``ValueError`` with a message fit for a user.
    """
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"invalid duration {text!r}: write a number and a unit, e.g. 30m, 4h, 1d, 1w")
    total = timedelta(0)
    for number, unit in _DURATION_PART.findall(text):
        total += int(number) * _UNITS[unit]
    return total


def format_duration(value: timedelta) -> str:
    """The shortest spelling of ``value`` that :func:`parse_duration` reads back."""
    minutes = int(value.total_seconds() // 60)
    if minutes == 0:
        return "0m"
    parts = []
    for unit, size in (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_clock(text: str) -> time:
    """Parse ``HH:MM`` (24-hour)."""
    if not re.fullmatch(CLOCK_PATTERN, text):
        raise ValueError(f"invalid clock time {text!r}: write HH:MM, e.g. 09:00")
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def format_clock(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match else ""


_PARTS = re.compile(r"[-_. /]+")


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant: the same but for case, a close spelling, the
    initials of its parts (``de`` for ``data-eng``) or the only choice it begins; else None."""
    import difflib

    options = list(choices)
    folded = word.casefold()
    same = [c for c in options if c.casefold() == folded]
    if same:
        return same[0]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if match:
        return match[0]
    if len(folded) < 2:
        return None
    for found in (
        [c for c in options if "".join(part[:1] for part in _PARTS.split(c.casefold()) if part) == folded],
        [c for c in options if c.casefold().startswith(folded)],
        [c for c in options if any(part.startswith(folded) for part in _PARTS.split(c.casefold()))],
    ):
        if len(found) == 1:
            return found[0]
    return None
