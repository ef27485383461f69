"""PagerDuty: fetch what the account holds, diff it with the desired state, apply the plan.

- :func:`~opsctl.sync.pagerduty_actual.fetch_actual` (re-exported here) reads the account.
- :func:`diff` is pure. It compares what both sides mean, not how PagerDuty spells it:
  times as instants in the schedule's zone, users as the org's person ids, references
  to managed objects by managed key, layers that ended in the past left out (PagerDuty
  keeps them as history). Each managed object gets a create, an update with the fields
  that differ, or nothing.
- :func:`apply` makes the writes in dependency order (schedules and their overrides,
  policies, services, integrations) and resolves references to objects created on the
  way. A refused change skips only what depends on it; every create is found again by
  its marker on the next run, so an apply that stops half-way (an outage longer than the
  pacer's patience, a lost connection) is finished by the next one.

Overrides have no description, so a schedule's marker lists the fingerprints of the
overrides opsctl made (:func:`opsctl.sync.marker.override_fingerprint`). The list is
written *before* the overrides are created, so a crash never leaves an override of
opsctl's that the next run would mistake for a manual one. An override on a managed
schedule that opsctl did not make is drift: reported, never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opsctl.model.spelling import format_duration
from opsctl.sync.apply import ApplyResult, PartlyRefused, Skip, Step, apply_steps
from opsctl.sync.marker import human_text, override_fingerprint, read_marker, with_marker
from opsctl.sync.pagerduty_actual import (
    INTEGRATION_TYPE,
    PagerDutyActual,
    RemoteOverride,
    RemotePolicy,
    RemoteSchedule,
    RemoteService,
    fetch_actual,
    fetch_services,
    offline_actual,
    opsctl_integration,
    pd_time,
)
from opsctl.sync.pagerduty_desired import (
    INTEGRATION_NAME,
    LayerSpec,
    PagerDutyDesired,
    PolicySpec,
    ScheduleSpec,
    ServiceSpec,
    person_label,
    rename_fix,
)
from opsctl.sync.pagerduty_overrides import OverrideSpec
from opsctl.sync.plan import Change, FieldChange, Notice, Plan, Value, field_changes
from opsctl.sync.progress import QUIET, Progress

__all__ = ["ApplyResult", "apply", "diff", "fetch_actual", "fetch_services", "offline_actual"]

if TYPE_CHECKING:
    from pagerduty import RestApiV2Client

OVERRIDES_PER_REQUEST = 100
"""PagerDuty takes several overrides in one request; batches stay modest so that one refusal costs little."""
LEDGER = "overrides"
"""The marker extra of a schedule that lists the fingerprints of the overrides opsctl made."""


# -- comparing ------------------------------------------------------------------------------


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def _layer_text(
    name: str,
    people: Iterable[str],
    turn: timedelta,
    virtual_start: datetime,
    start: datetime,
    end: datetime | None,
    restrictions: Iterable[str],
    zone: str,
    as_of: datetime,
) -> str:
    people = list(people)
    if len(people) == 1:
        # one person: turns and their virtual start mean nothing, only when the layer starts
        text = f"{name}: {people[0]}"
        if start > as_of:
            text += f" from {_local(start, zone)}"
    else:
        text = f"{name}: {', '.join(people)} in turns of {format_duration(turn)} from {_local(virtual_start, zone)}"
    if len(people) > 1 and start > as_of and start != virtual_start:
        # a layer that began in the past may be re-dated by PagerDuty on update: only future starts count
        text += f", starting {_local(start, zone)}"
    if end is not None:
        text += f", until {_local(end, zone)}"
    shown = list(restrictions)
    if shown:
        text += f", on call {', '.join(shown)}"
    return text


def _desired_layer_text(layer: LayerSpec, zone: str, as_of: datetime) -> str:
    return _layer_text(
        layer.name,
        layer.people,
        layer.turn,
        layer.virtual_start,
        layer.start,
        layer.end,
        (r.text() for r in layer.restrictions),
        zone,
        as_of,
    )


def _rule_text(targets: list[str], minutes: int) -> str:
    return f"{', '.join(targets)} (escalates after {minutes}m)"


def _override_text(person: str, start: datetime, end: datetime, zone: str) -> str:
    return f"{person} from {_local(start, zone)} to {_local(end, zone)}"


@dataclass
class _Resolver:
    """People ↔ PagerDuty users, and managed keys ↔ remote ids, for one diff."""

    desired: PagerDutyDesired
    actual: PagerDutyActual
    user_of: dict[str, str] = field(default_factory=dict)
    person_of: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    key_of: dict[str, str] = field(default_factory=dict)
    """Remote id → managed key."""

    def __post_init__(self) -> None:
        by_email = {u.email.lower(): u.id for u in self.actual.users}
        ids = {u.id for u in self.actual.users}
        for person in self.desired.people.values():
            found = person.pagerduty_id if person.pagerduty_id in ids else None
            if person.pagerduty_id is None:
                found = by_email.get(person.email.lower())
            if found is None:
                self.missing.add(person.id)
            else:
                self.user_of[person.id] = found
                self.person_of.setdefault(found, person.id)

    def person(self, user_id: str) -> str:
        return self.person_of.get(user_id, f"pagerduty user {user_id}")

    def ref(self, kind: str, remote_id: str) -> str:
        return self.key_of.get(remote_id, f"{kind} {remote_id}")


@dataclass(frozen=True)
class _Managed:
    """The remote objects of one kind that carry a marker, by key; the rest by name."""

    by_key: dict[str, Any]
    by_name: dict[str, Any]
    duplicates: list[tuple[str, Any]]


def name_key(name: str) -> str:
    """Names as PagerDuty compares them for uniqueness: without regard to case."""
    return name.casefold().strip()


def _index(objects: Iterable[Any]) -> _Managed:
    by_key: dict[str, Any] = {}
    by_name: dict[str, Any] = {}
    duplicates = []
    for obj in sorted(objects, key=lambda o: o.id):
        marker = read_marker(obj.description)
        by_name.setdefault(name_key(obj.name), obj)
        if marker is None:
            pass
        elif marker.key in by_key:
            duplicates.append((marker.key, obj))
        else:
            by_key[marker.key] = obj
    return _Managed(by_key, by_name, duplicates)


def _floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


def _same_override(spec: OverrideSpec, user: str, remote: RemoteOverride, as_of: datetime) -> bool:
    """Whether ``remote`` is the override ``spec`` asks for.

    One that began in the past was created starting at the run's minute (PagerDuty
    overrides cannot start before they are made), so from then on any start up to now
    will do.
    """
    if remote.user != user or remote.end != spec.end:
        return False
    return remote.start == spec.start or (spec.start <= as_of and remote.start <= as_of)


class _Differ:
    def __init__(self, desired: PagerDutyDesired, actual: PagerDutyActual) -> None:
        self.desired = desired
        self.actual = actual
        self.as_of = desired.as_of
        self.people = _Resolver(desired, actual)
        self.changes: list[Change] = []
        self.in_sync: list[str] = []
        self.notices: list[Notice] = list(desired.notices)
        self.ids: dict[str, str] = {}
        """Managed key → remote id of the objects that exist."""
        self.blocked: set[str] = set()
        self.schedules = _index(actual.schedules)
        self.policies = _index(actual.policies)
        self.services = _index(actual.services)
        for managed in (self.schedules, self.policies, self.services):
            for key, obj in managed.by_key.items():
                self.ids[key] = obj.id
                self.people.key_of[obj.id] = key
            for key, obj in managed.duplicates:
                self.notices.append(
                    Notice(
                        "warning",
                        key,
                        f"{obj.name!r} ({obj.id}) carries the same marker as another object; opsctl uses the first",
                    )
                )

    def run(self) -> Plan:
        for person_id in sorted(self.people.missing):
            person = self.desired.people[person_id]
            how = f"pagerduty_id {person.pagerduty_id} is not a user" if person.pagerduty_id else "no user has that email"
            self.notices.append(
                Notice(
                    "warning",
                    f"person {person_id}",
                    f"{person_label(person)} is not in PagerDuty ({how}): invite them, or set pagerduty_id in ownership.yaml",
                )
            )
        for schedule in self.desired.schedules:
            self.schedule(schedule)
        for policy in self.desired.policies:
            self.policy(policy)
        for service in self.desired.services:
            self.service(service)
        for service in self.desired.services:
            self.integration(service)
        self.orphans()
        until = self.desired.until
        return Plan(
            "PagerDuty",
            self.as_of,
            tuple(self.changes),
            tuple(self.in_sync),
            tuple(self.notices),
            scope=f"overrides through {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            context={"ids": dict(self.ids)},
        )

    def _upsert(
        self,
        kind: str,
        key: str,
        name: str,
        remote_id: str | None,
        before: dict[str, Value] | None,
        view: dict[str, Value],
        body: dict[str, Any],
        extra: tuple[FieldChange, ...] = (),
    ) -> None:
        """A create when there is no remote object, an update with the fields that differ, or nothing."""
        if remote_id is None:
            self.changes.append(Change("create", kind, key, name, field_changes(None, view), request={"body": body}))
            return
        self.ids[key] = remote_id
        fields = field_changes(before, view) + extra
        if fields:
            self.changes.append(Change("update", kind, key, name, fields, remote_id, request={"body": body}))
        else:
            self.in_sync.append(key)

    def _conflict(self, key: str, kind: str, name: str, index: _Managed, remote: Any) -> bool:
        """Whether another object holds ``name`` (PagerDuty refuses a second one: "Name has
        already been taken", whatever the case): a finding of the plan, never a failed write."""
        other = index.by_name.get(name_key(name))
        if other is None or (remote is not None and other.id == remote.id):
            return False
        self.blocked.add(key)
        marker = read_marker(other.description)
        rename = rename_fix(self.desired.naming, key)
        if marker is not None:
            why = (
                f"a {kind} named {other.name!r} ({other.id}) was made by opsctl for {marker.key}, which the repository "
                f"no longer has: delete it in PagerDuty (nothing else uses it), then run the sync again; "
                f"or, to give this {kind} another name, {rename}"
            )
        else:
            why = (
                f"a {kind} named {other.name!r} ({other.id}) exists that opsctl did not create, and PagerDuty names must "
                f"be unique whatever their case; opsctl leaves it alone: rename it, or add the line "
                f"`opsctl:managed key={key}` to its description to let opsctl manage it, "
                f"or, to give opsctl's {kind} another name, {rename}"
            )
        self.notices.append(Notice("drift", key, f"{kind} {name!r} is not {'renamed' if remote else 'made'}: {why}"))
        return True

    # -- schedules -----------------------------------------------------------------------

    def schedule(self, spec: ScheduleSpec) -> None:
        remote: RemoteSchedule | None = self.schedules.by_key.get(spec.key)
        unresolved = sorted({p for layer in spec.layers for p in layer.people if p in self.people.missing})
        if unresolved:
            self.blocked.add(spec.key)
            self.notices.append(
                Notice(
                    "drift",
                    spec.key,
                    f"schedule {spec.name!r} is not {'updated' if remote else 'created'}: "
                    f"{', '.join(unresolved)} {'has' if len(unresolved) == 1 else 'have'} no PagerDuty user",
                )
            )
            return
        if (remote is None or name_key(remote.name) != name_key(spec.name)) and self._conflict(
            spec.key, "schedule", spec.name, self.schedules, remote
        ):
            return
        view = self._schedule_view(spec)
        marker = read_marker(remote.description) if remote else None
        ledger = marker.values(LEDGER) if marker else frozenset()
        wanted: list[tuple[OverrideSpec, str]] = []
        skipped: list[OverrideSpec] = []
        for override in spec.overrides:
            user = self.people.user_of.get(override.person)
            if user is None:
                skipped.append(override)
            else:
                wanted.append((override, user))
        if skipped:
            who = sorted({o.person for o in skipped})
            first = skipped[0]
            self.notices.append(
                Notice(
                    "drift",
                    spec.key,
                    f"{len(skipped)} override(s) not made, the first "
                    f"{_override_text(first.person, first.start, first.end, spec.time_zone)}: "
                    f"{', '.join(who)} {'has' if len(who) == 1 else 'have'} no PagerDuty user",
                )
            )
        existing = list(remote.overrides) if remote else []
        to_create: list[tuple[OverrideSpec, str, datetime]] = []
        matched: set[str] = set()
        for override, user in wanted:
            found = next((o for o in existing if o.id not in matched and _same_override(override, user, o, self.as_of)), None)
            if found is not None:
                matched.add(found.id)
                self.in_sync.append(f"override:{spec.key}:{_local(override.start, spec.time_zone)}")
                continue
            to_create.append((override, user, max(override.start, _floor_minute(self.as_of))))
        made = {override_fingerprint(start, o.end, user) for o, user, start in to_create}
        to_delete = [o for o in existing if o.id not in matched and override_fingerprint(o.start, o.end, o.user) in ledger]
        manual = [o for o in existing if o.id not in matched and override_fingerprint(o.start, o.end, o.user) not in ledger]
        # the marker keeps the fingerprints of opsctl's overrides still there, plus those about to be made
        kept = {override_fingerprint(o.start, o.end, o.user) for o in existing} & ledger
        new_ledger = sorted(kept | made)
        body = self._schedule_body(spec, new_ledger)
        extra: tuple[FieldChange, ...] = ()
        if remote is not None and not made <= ledger:
            # the marker lists opsctl's overrides before they are made (see the module docstring)
            gone = len(ledger - set(new_ledger))
            after = f"{len(new_ledger)} listed ({len(made - ledger)} to be made" + (f", {gone} gone)" if gone else ")")
            extra = (FieldChange("overrides made by opsctl", f"{len(ledger)} listed", after),)
        before = self._remote_schedule_view(remote) if remote else None
        self._upsert("schedule", spec.key, spec.name, remote.id if remote else None, before, view, body, extra)
        zone = spec.time_zone
        for o in to_delete:
            self.changes.append(
                Change(
                    "delete",
                    "override",
                    f"override:{spec.key}:{_local(o.start, zone)}",
                    spec.name,
                    (FieldChange("override", _override_text(self.people.person(o.user), o.start, o.end, zone), None),),
                    o.id,
                    "made by opsctl and no longer wanted",
                    line=_override_text(self.people.person(o.user), o.start, o.end, zone),
                    request={"schedule": spec.key},
                )
            )
        for override, user, start in to_create:
            self.changes.append(
                Change(
                    "create",
                    "override",
                    f"override:{spec.key}:{_local(override.start, zone)}",
                    spec.name,
                    (FieldChange("override", None, _override_text(override.person, start, override.end, zone)),),
                    note=override.why,
                    line=_override_text(override.person, start, override.end, zone),
                    request={
                        "schedule": spec.key,
                        "override": {
                            "start": pd_time(start),
                            "end": pd_time(override.end),
                            "user": {"id": user, "type": "user_reference"},
                        },
                    },
                )
            )
        for o in manual:
            self.notices.append(
                Notice(
                    "drift",
                    spec.key,
                    f"manual override {_override_text(self.people.person(o.user), o.start, o.end, zone)} ({o.id}) "
                    "is not in the repository; opsctl leaves it: remove it in PagerDuty, or add it to rotations/overrides.yaml",
                )
            )

    def _schedule_view(self, spec: ScheduleSpec) -> dict[str, Value]:
        return {
            "name": spec.name,
            "description": spec.description,
            "time zone": spec.time_zone,
            "layers": [_desired_layer_text(layer, spec.time_zone, self.as_of) for layer in spec.layers],
        }

    def _remote_schedule_view(self, remote: RemoteSchedule) -> dict[str, Value]:
        zone = remote.time_zone
        return {
            "name": remote.name,
            "description": human_text(remote.description),
            "time zone": zone,
            "layers": [
                _layer_text(
                    layer.name,
                    (self.people.person(u) for u in layer.users),
                    timedelta(seconds=layer.turn_seconds),
                    layer.virtual_start,
                    layer.start,
                    layer.end,
                    layer.restrictions,
                    zone,
                    self.as_of,
                )
                for layer in remote.layers
                if layer.end is None or layer.end > self.as_of
            ],
        }

    def _schedule_body(self, spec: ScheduleSpec, ledger: list[str]) -> dict[str, Any]:
        extra = {LEDGER: ",".join(ledger)} if ledger else {}
        return {
            "type": "schedule",
            "name": spec.name,
            "description": with_marker(spec.description, spec.key, **extra),
            "time_zone": spec.time_zone,
            "schedule_layers": [
                {
                    "name": layer.name,
                    "start": pd_time(layer.start),
                    **({"end": pd_time(layer.end)} if layer.end else {}),
                    "rotation_virtual_start": pd_time(layer.virtual_start),
                    "rotation_turn_length_seconds": int(layer.turn.total_seconds()),
                    "users": [{"user": {"id": self.people.user_of[p], "type": "user_reference"}} for p in layer.people],
                    **(
                        {
                            "restrictions": [
                                {
                                    "type": "weekly_restriction",
                                    "start_day_of_week": r.day,
                                    "start_time_of_day": r.start.strftime("%H:%M:%S"),
                                    "duration_seconds": r.seconds,
                                }
                                for r in layer.restrictions
                            ]
                        }
                        if layer.restrictions
                        else {}
                    ),
                }
                for layer in spec.layers
            ],
        }

    # -- escalation policies -------------------------------------------------------------

    def _available(self, key: str) -> bool:
        """Whether a managed object exists or will be created by this plan."""
        return key in self.ids or key not in self.blocked

    def policy(self, spec: PolicySpec) -> None:
        rules: list[tuple[int, list[dict[str, str]], list[str]]] = []
        dropped: list[str] = []
        for rule in spec.rules:
            targets: list[dict[str, str]] = []
            texts: list[str] = []
            for target in rule.targets:
                if target.kind == "schedule":
                    if not self._available(target.ref):
                        dropped.append(f"{rule.role} (schedule {target.ref} cannot be made)")
                        continue
                    targets.append({"type": "schedule_reference", "id": self.ids.get(target.ref, "@" + target.ref)})
                    texts.append(target.ref)
                else:
                    user = self.people.user_of.get(target.ref)
                    if user is None:
                        dropped.append(f"{rule.role} ({target.ref} has no PagerDuty user)")
                        continue
                    targets.append({"type": "user_reference", "id": user})
                    texts.append(f"user {target.ref}")
            if targets:
                minutes = max(1, round(rule.delay.total_seconds() / 60))
                rules.append((minutes, targets, texts))
        if dropped:
            self.notices.append(Notice("drift", spec.key, f"escalation policy {spec.name!r} lacks: {'; '.join(dropped)}"))
        remote: RemotePolicy | None = self.policies.by_key.get(spec.key)
        if not rules:
            self.blocked.add(spec.key)
            self.notices.append(Notice("drift", spec.key, f"escalation policy {spec.name!r} has nobody to page; not made"))
            return
        if (remote is None or name_key(remote.name) != name_key(spec.name)) and self._conflict(
            spec.key, "escalation policy", spec.name, self.policies, remote
        ):
            return
        view: dict[str, Value] = {
            "name": spec.name,
            "description": spec.description,
            "rules": [_rule_text(texts, minutes) for minutes, _, texts in rules],
        }
        body = {
            "type": "escalation_policy",
            "name": spec.name,
            "description": with_marker(spec.description, spec.key),
            "num_loops": 0,
            "escalation_rules": [{"escalation_delay_in_minutes": minutes, "targets": targets} for minutes, targets, _ in rules],
        }
        if remote is None:
            self._upsert("escalation policy", spec.key, spec.name, None, None, view, body)
            return
        before: dict[str, Value] = {
            "name": remote.name,
            "description": human_text(remote.description),
            "rules": [
                _rule_text(
                    [
                        self.people.ref("schedule", i) if kind == "schedule" else f"user {self.people.person(i)}"
                        for kind, i in r.targets
                    ],
                    r.delay_minutes,
                )
                for r in remote.rules
            ],
        }
        self._upsert("escalation policy", spec.key, spec.name, remote.id, before, view, body)

    # -- services and integrations --------------------------------------------------------

    def service(self, spec: ServiceSpec) -> None:
        remote: RemoteService | None = self.services.by_key.get(spec.key)
        if not self._available(spec.policy):
            self.blocked.add(spec.key)
            self.notices.append(Notice("drift", spec.key, f"service {spec.name!r} is not made: its escalation policy cannot be"))
            return
        if (remote is None or name_key(remote.name) != name_key(spec.name)) and self._conflict(
            spec.key, "service", spec.name, self.services, remote
        ):
            return
        view: dict[str, Value] = {
            "name": spec.name,
            "description": spec.description,
            "escalation policy": spec.policy,
            "urgency": spec.urgency,
        }
        body = {
            "type": "service",
            "name": spec.name,
            "description": with_marker(spec.description, spec.key),
            "escalation_policy": {"type": "escalation_policy_reference", "id": self.ids.get(spec.policy, "@" + spec.policy)},
            "incident_urgency_rule": {"type": "constant", "urgency": spec.urgency},
        }
        if remote is None:
            self._upsert("service", spec.key, spec.name, None, None, view, body)
            return
        before: dict[str, Value] = {
            "name": remote.name,
            "description": human_text(remote.description),
            "escalation policy": self.people.ref("policy", remote.policy_id),
            "urgency": remote.urgency,
        }
        self._upsert("service", spec.key, spec.name, remote.id, before, view, body)

    def integration(self, spec: ServiceSpec) -> None:
        if spec.key in self.blocked:
            return
        key = f"integration:{spec.key}"
        remote: RemoteService | None = self.services.by_key.get(spec.key)
        if remote is not None and opsctl_integration(remote) is not None:
            self.in_sync.append(key)
            return
        self.changes.append(
            Change(
                "create",
                "integration",
                key,
                INTEGRATION_NAME,
                (FieldChange("service", None, spec.name), FieldChange("type", None, "Events API v2")),
                request={"service": spec.key, "body": {"type": INTEGRATION_TYPE, "name": INTEGRATION_NAME}},
            )
        )

    def orphans(self) -> None:
        wanted = {s.key for s in self.desired.schedules} | {p.key for p in self.desired.policies}
        wanted |= {s.key for s in self.desired.services}
        for kind, managed in (("schedule", self.schedules), ("escalation policy", self.policies), ("service", self.services)):
            for key, obj in sorted(managed.by_key.items()):
                if key not in wanted:
                    self.notices.append(
                        Notice(
                            "warning",
                            key,
                            f"{kind} {obj.name!r} ({obj.id}) was made by opsctl but is no longer in the repository; "
                            "opsctl leaves it: delete it in PagerDuty when nothing uses it",
                        )
                    )


def diff(desired: PagerDutyDesired, actual: PagerDutyActual) -> Plan:
    """The plan that makes ``actual`` what ``desired`` says. Pure and deterministic."""
    return _Differ(desired, actual).run()


# -- applying --------------------------------------------------------------------------------


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with ``"@<key>"`` references replaced by the ids of objects made earlier in the apply."""
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        if value[1:] not in ids:
            raise Skip(value[1:])
        return ids[value[1:]]
    return value


def _batches(changes: list[Change]) -> list[list[Change]]:
    """The plan's changes in request order; a schedule's new overrides go in one request."""
    out: list[list[Change]] = []
    for change in changes:
        last = out[-1] if out else None
        if (
            last is not None
            and change.kind == "override"
            and change.action == "create"
            and last[0].kind == "override"
            and last[0].action == "create"
            and last[0].request["schedule"] == change.request["schedule"]
            and len(last) < OVERRIDES_PER_REQUEST
        ):
            last.append(change)
        else:
            out.append([change])
    return out


def apply(client: RestApiV2Client, plan: Plan, *, progress: Progress = QUIET) -> ApplyResult:
    """Make the plan's changes, in order; what was refused or not reached is in the result."""
    ids: dict[str, str] = dict(plan.context.get("ids", {}))
    steps = [Step(tuple(batch), partial(_apply_one, client, batch, ids)) for batch in _batches(list(plan.changes))]
    result = apply_steps("PagerDuty", steps, len(plan.changes), progress)
    result.ids = ids
    return result


def _apply_one(client: RestApiV2Client, batch: list[Change], ids: dict[str, str]) -> int:
    change = batch[0]
    request = change.request
    if change.kind == "override":
        schedule = _resolve("@" + request["schedule"], ids)
        if change.action == "delete":
            client.rdelete(f"/schedules/{schedule}/overrides/{change.remote_id}")
            return 1
        answers = client.rpost(f"/schedules/{schedule}/overrides", json={"overrides": [c.request["override"] for c in batch]})
        refused = [
            (item, "; ".join(str(e) for e in answer.get("errors") or []) or f"status {answer.get('status')}")
            for item, answer in zip(batch, answers if isinstance(answers, list) else [], strict=False)
            if isinstance(answer, dict) and int(answer.get("status") or 201) >= 300
        ]
        if refused:
            raise PartlyRefused(1, refused)
        return 1
    if change.kind == "integration":
        service = _resolve("@" + request["service"], ids)
        client.rpost(f"/services/{service}/integrations", json={"integration": request["body"]})
        return 1
    path = {"schedule": "/schedules", "escalation policy": "/escalation_policies", "service": "/services"}[change.kind]
    wrapper = {"schedule": "schedule", "escalation policy": "escalation_policy", "service": "service"}[change.kind]
    body = {wrapper: _resolve(request["body"], ids)}
    if change.action == "create":
        made = client.rpost(path, json=body)
        assert isinstance(made, dict)
        ids[change.key] = str(made["id"])
    else:
        client.rput(f"{path}/{change.remote_id}", json=body)
    return 1
