"""Plans: what a sync would change, as values, and their text and JSON.

A :class:`Plan` is computed by an adapter's pure ``diff(desired, actual)`` and printed
before anything changes. Each :class:`Change` is one write (or one group of writes the
adapter makes together) with a field-level diff; :class:`Notice` values are what a sync
cannot or will not fix by itself: ``drift`` (the service differs from the repository in
a way apply leaves alone, e.g. a manual override) makes ``--check`` fail, ``warning`` does
not. Values are plain JSON-able data so that the JSON plan is the same data as the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["create", "update", "delete"]
Level = Literal["drift", "warning", "info"]
Value = str | int | None | list[str]
"""A field's value as plans show it: text, a number, nothing, or a list of lines."""

_SIGN = {"create": "+", "update": "~", "delete": "-"}


@dataclass(frozen=True)
class FieldChange:
    """One field of a remote object: its value now (None when created) and after the change."""

    name: str
    before: Value
    after: Value


@dataclass(frozen=True)
class Change:
    """One thing apply will do."""

    action: Action
    kind: str
    """What is changed, in words: `schedule`, `override`, `escalation policy`, `user group`, …"""
    key: str
    """The managed key: the object's identity in the repository's terms, stable across runs."""
    title: str
    """The object's name in the service."""
    fields: tuple[FieldChange, ...] = ()
    remote_id: str | None = None
    """The service's id of the object changed (None for a create)."""
    note: str = ""
    """Why, when the fields do not say it (e.g. the swap an override carries)."""
    line: str = ""
    """For small changes made in bulk (overrides): the whole change in one line of text."""
    request: Any = field(default=None, compare=False, repr=False)
    """What the adapter's apply sends, in its own terms; not part of the plan's output."""


@dataclass(frozen=True)
class Notice:
    """Something the plan reports but apply does not change."""

    level: Level
    subject: str
    message: str


@dataclass(frozen=True)
class Plan:
    """The changes that would bring a service in line with the repository."""

    target: str
    """`PagerDuty` or `Slack`."""
    as_of: datetime
    changes: tuple[Change, ...]
    in_sync: tuple[str, ...]
    """Keys of the managed objects that already match."""
    notices: tuple[Notice, ...] = ()
    scope: str = ""
    """What the plan covers, in words (e.g. the override horizon)."""
    context: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What the adapter's apply needs besides the changes (e.g. the ids of existing objects)."""

    @property
    def drift(self) -> bool:
        """Whether the service differs from the repository: `--check` exits 1."""
        return bool(self.changes) or any(n.level == "drift" for n in self.notices)

    def count(self, action: Action) -> int:
        return sum(c.action == action for c in self.changes)

    def summary(self) -> dict[str, int]:
        return {
            "create": self.count("create"),
            "update": self.count("update"),
            "delete": self.count("delete"),
            "in_sync": len(self.in_sync),
            "drift": sum(n.level == "drift" for n in self.notices),
            "warnings": sum(n.level == "warning" for n in self.notices),
        }


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    parts = [f"{s['create']} to create", f"{s['update']} to update", f"{s['delete']} to delete", f"{s['in_sync']} in sync"]
    if s["drift"]:
        parts.append(_plural(s["drift"], "drift finding"))
    if s["warnings"]:
        parts.append(_plural(s["warnings"], "warning"))
    return "Plan: " + ", ".join(parts) + "."


def _value_text(value: Value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return "; ".join(value) if value else "(none)"
    return str(value)


def _field_lines(change: Change) -> list[str]:
    lines: list[str] = []
    for item in change.fields:
        before, after = item.before, item.after
        if change.action == "create":
            if isinstance(after, list):
                lines.append(f"      {item.name}:")
                lines.extend(f"        {line}" for line in after)
            else:
                lines.append(f"      {item.name}: {_value_text(after)}")
        elif isinstance(before, list) or isinstance(after, list):
            old = before if isinstance(before, list) else []
            new = after if isinstance(after, list) else []
            lines.append(f"      {item.name}:")
            removed = [line for line in old if line not in new]
            added = [line for line in new if line not in old]
            if not removed and not added:  # same lines, another order
                removed, added = old, new
            lines.extend(f"        - {line}" for line in removed)
            lines.extend(f"        + {line}" for line in added)
        else:
            lines.append(f"      {item.name}: {_value_text(before)} → {_value_text(after)}")
    return lines


def render_text(plan: Plan, *, apply_hint: str = "") -> str:
    """The plan for people: one block per change, then notices and a summary line."""
    head = f"{plan.target} plan as of {stamp(plan.as_of)}"
    lines = [head + (f"; {plan.scope}" if plan.scope else ""), ""]
    for change in plan.changes:
        if change.line:
            why = f"  ({change.note})" if change.note else ""
            lines.append(f"{_SIGN[change.action]} {change.action} {change.kind} on {change.title!r}: {change.line}{why}")
            continue
        lines.append(f"{_SIGN[change.action]} {change.action} {change.kind} {change.title!r}")
        lines.append(f"      key: {change.key}")
        lines.extend(_field_lines(change))
        if change.note:
            lines.append(f"      why: {change.note}")
    if not plan.changes:
        lines.append(f"Nothing to change: {_plural(len(plan.in_sync), 'managed object')} in sync.")
    if plan.notices:
        lines.append("")
        lines.extend(f"{n.level}: {n.subject}: {n.message}" for n in plan.notices)
    lines.append("")
    lines.append(summary_line(plan))
    if plan.changes and apply_hint:
        lines.append(apply_hint)
    return "\n".join(lines) + "\n"


def to_json(plan: Plan) -> dict[str, Any]:
    """The plan for machines; the same content as :func:`render_text`."""
    return {
        "version": 1,
        "target": plan.target.lower(),
        "as_of": plan.as_of.astimezone(UTC).isoformat(timespec="seconds"),
        "scope": plan.scope,
        "drift": plan.drift,
        "summary": plan.summary(),
        "changes": [
            {
                "action": c.action,
                "kind": c.kind,
                "key": c.key,
                "title": c.title,
                "remote_id": c.remote_id,
                "fields": [{"name": f.name, "before": f.before, "after": f.after} for f in c.fields],
                "note": c.note,
            }
            for c in plan.changes
        ],
        "in_sync": list(plan.in_sync),
        "notices": [{"level": n.level, "subject": n.subject, "message": n.message} for n in plan.notices],
    }


def field_changes(before: Mapping[str, Value] | None, after: Mapping[str, Value]) -> tuple[FieldChange, ...]:
    """The fields of ``after`` that differ from ``before`` (all of them when ``before`` is None), in ``after``'s order."""
    if before is None:
        return tuple(FieldChange(name, None, value) for name, value in after.items())
    return tuple(FieldChange(name, before.get(name), value) for name, value in after.items() if before.get(name) != value)
