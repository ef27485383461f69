"""Time zones by name, each built once per process.

``ZoneInfo(name)`` keeps only the eight most recently used zones alive; an org whose people
live in more zones than that rebuilt one from the zone database on almost every call (20,000
time-off entries over ten zones: 2 s). Holding every zone used here keeps the library's own
cache warm for every other ``ZoneInfo(name)`` in the program as well.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; raises as ``ZoneInfo`` does for an unknown name."""
    return ZoneInfo(name)
