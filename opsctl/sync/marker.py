"""The managed marker: how opsctl knows which remote objects it created.

PagerDuty schedules, escalation policies and services, and Slack user groups, carry a
last description line ``opsctl:managed key=<key>`` (and, for schedules, the overrides
opsctl made, see :func:`override_fingerprint`). An object without the line is somebody
else's: opsctl reports it when it is in the way and never edits or deletes it. To let
opsctl take over an existing object, add the line to its description.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

MARKER = "opsctl:managed"
_LINE = re.compile(r"(?:^|\n)" + re.escape(MARKER) + r" key=(?P<key>\S+)(?P<extra>(?: \w+=\S*)*)\s*$")


@dataclass(frozen=True)
class Marker:
    key: str
    extra: dict[str, str]

    def values(self, name: str) -> frozenset[str]:
        """A comma-separated extra, as a set (empty when absent)."""
        raw = self.extra.get(name, "")
        return frozenset(v for v in raw.split(",") if v)


def read_marker(description: str | None) -> Marker | None:
    """The marker at the end of ``description``, or None when the object is not managed."""
    if not description:
        return None
    match = _LINE.search(description)
    if match is None:
        return None
    extra = dict(part.split("=", 1) for part in match.group("extra").split())
    return Marker(match.group("key"), extra)


def human_text(description: str | None) -> str:
    """``description`` without the marker line: the part people wrote or read."""
    if not description:
        return ""
    match = _LINE.search(description)
    return (description[: match.start()] if match else description).rstrip()


def with_marker(text: str, key: str, **extra: str) -> str:
    """``text`` followed by the marker line for ``key`` (and ``extra`` values, sorted by name)."""
    tail = "".join(f" {name}={value}" for name, value in sorted(extra.items()))
    line = f"{MARKER} key={key}{tail}"
    return f"{text.rstrip()}\n\n{line}" if text.strip() else line


def override_fingerprint(start: datetime, end: datetime, user_id: str) -> str:
    """A short stable id of an override's content: opsctl lists those it made in the
    schedule's marker, because PagerDuty overrides have no description of their own."""
    text = f"{int(start.timestamp())}|{int(end.timestamp())}|{user_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]
