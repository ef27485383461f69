"""Times and dates typed on the command line.

``--at``, ``--from`` and ``--to`` take ``now``, an ISO 8601 date or datetime (with or
without an offset), or a relative ``+3d`` / ``-12h`` from now. A time without an offset
is in ``zone`` (the machine's local zone unless the command says otherwise); a date is
its midnight there.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo

from opsctl.errors import UsageError
from opsctl.model.spelling import parse_duration


def parse_when(text: str, *, now: datetime, zone: tzinfo, option: str = "--at") -> datetime:
    """An aware datetime for ``text``; :class:`UsageError` naming ``option`` when unreadable."""
    raw = text.strip()
    if raw.lower() == "now":
        return now
    if raw[:1] in ("+", "-") and len(raw) > 1:
        try:
            delta = parse_duration(raw[1:])
        except ValueError:
            pass
        else:
            return now + delta if raw[0] == "+" else now - delta
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=zone)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"{option}: cannot read {text!r} as a time; use now, 2026-12-24, 2026-12-24T09:00, 2026-12-24T09:00+01:00 or +3d"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)
