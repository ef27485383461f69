"""What PagerDuty should hold, computed from the org: pure (org, engine, now).

The layout grows with people and rotations, not with pipelines (see docs/sync.md):

- ``schedule:<rotation>:primary`` (and ``:secondary`` for depth 2): layers from the
  rotation (one layer per roster period still in force); overrides for the horizon
  wherever the engine's answer differs from the plain rotation: swaps, overrides from
  ``rotations/overrides.yaml``, and reduced duty, during which the secondary is paged
  first (the primary and secondary schedules trade places for that interval).
- ``schedule:person:<person>``: the person whenever they are available, nobody while they
  are away (time off, public holidays): one layer per stretch between absences, so the
  absences are gaps, not overrides. ``schedule:person:<person>:working-hours`` is the same
  restricted to their working hours (when the org or the person sets them). PagerDuty
  passes over an escalation level with nobody on call at once ("when no one is on call on
  a particular schedule, alerts will auto-escalate"), so a level that targets one of these
  schedules skips its person exactly when the chain does.
- ``policy:owners:<team>:<primary>:<secondary>``: the chain of every pipeline with those
  owners in that team: the primary owner's and the secondary owner's working-hours
  schedules, the team's on-call primary and secondary schedules, then the lead's
  schedule, with the delays of ``settings.escalation``. Pipelines share it, so there are
  as many policies as distinct owner pairs. ``policy:team:<team>``: the on-call part of
  the chain, for alerts that match no pipeline (and for every alert with services per team).
- ``service:pipeline:<pipeline>`` (with ``settings.pagerduty.service_per: pipeline``) and
  ``service:team:<team>`` (always), each with an Events API v2 integration whose routing
  key the alert router reads (:mod:`opsctl.sync.pagerduty_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from opsctl.engine.escalation import working_hours_of
from opsctl.engine.intervals import complement
from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.roster import Roster
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org, PagerDutySettings, Person, Pipeline, Rotation, Team
from opsctl.model.names import schedule_name, service_name, team_service_name
from opsctl.sync.pagerduty_overrides import Assignment, OverrideSpec, Restriction, restrictions_for, to_overrides
from opsctl.sync.plan import Notice

OWNER_LAYER_ANCHOR = date(2024, 1, 1)
"""A person's schedule has one person; its first layer starts at this fixed Monday, so it never changes."""
INTEGRATION_NAME = "opsctl alert router (Events API v2)"


@dataclass(frozen=True)
class PersonRef:
    """How to find a person in PagerDuty: their PagerDuty id if given, else their email."""

    id: str
    name: str
    email: str
    pagerduty_id: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    name: str
    start: datetime
    end: datetime | None
    virtual_start: datetime
    turn: timedelta
    people: tuple[str, ...]
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class ScheduleSpec:
    key: str
    name: str
    description: str
    time_zone: str
    layers: tuple[LayerSpec, ...]
    overrides: tuple[OverrideSpec, ...]


@dataclass(frozen=True)
class TargetSpec:
    kind: Literal["schedule", "user"]
    ref: str
    """A schedule key or a person id."""


@dataclass(frozen=True)
class RuleSpec:
    role: str
    delay: timedelta
    targets: tuple[TargetSpec, ...]


@dataclass(frozen=True)
class PolicySpec:
    key: str
    name: str
    description: str
    rules: tuple[RuleSpec, ...]


@dataclass(frozen=True)
class ServiceSpec:
    key: str
    name: str
    description: str
    policy: str
    urgency: Literal["high", "low"]


@dataclass(frozen=True)
class PagerDutyDesired:
    as_of: datetime
    until: datetime
    """End of the override horizon."""
    people: dict[str, PersonRef]
    schedules: tuple[ScheduleSpec, ...]
    policies: tuple[PolicySpec, ...]
    services: tuple[ServiceSpec, ...]
    pipeline_services: dict[str, str]
    """Pipeline id → service key (services per pipeline only)."""
    team_services: dict[str, str]
    """Team id → service key."""
    notices: tuple[Notice, ...] = ()
    naming: PagerDutySettings = field(default_factory=PagerDutySettings)
    """The settings the names come from, for the fix of a name that is taken (:func:`rename_fix`)."""


def schedule_key(owner: str, role: str) -> str:
    return f"schedule:{owner}:{role}"


def desired_pagerduty(org: Org, engine: Engine, now: datetime) -> PagerDutyDesired:
    """Everything opsctl manages in PagerDuty for ``org`` as of ``now``."""
    settings = org.settings.pagerduty
    until = now + settings.horizon
    schedules: list[ScheduleSpec] = []
    policies: dict[str, PolicySpec] = {}
    services: list[ServiceSpec] = []
    notices: list[Notice] = []
    for rotation in org.rotations.values():
        schedules.extend(rotation_schedules(org, engine, rotation, now, until))
    team_services: dict[str, str] = {}
    for team in org.teams.values():
        policy = team_policy(org, team)
        if not policy.rules:
            notices.append(
                Notice("warning", f"team {team.id}", "has no rotation and no lead: nobody to page, so no PagerDuty service")
            )
            continue
        policies[policy.key] = policy
        service = ServiceSpec(
            f"service:team:{team.id}",
            team_service_name(org, team),
            f"Pages the on-call of {team.name}: alerts that match no pipeline"
            + (" and every alert of the team's pipelines." if settings.service_per == "team" else "."),
            policy.key,
            "high",
        )
        services.append(service)
        team_services[team.id] = service.key
    pipeline_services: dict[str, str] = {}
    if settings.service_per == "pipeline":
        for pipeline in org.pipelines.values():
            policy = policies.setdefault(owners_key(pipeline), pipeline_policy(org, pipeline))
            tier = org.settings.tiers.get(pipeline.tier)
            service = ServiceSpec(
                f"service:pipeline:{pipeline.id}",
                service_name(org, pipeline),
                (pipeline.description.strip() or f"Pipeline {pipeline.id} of team {pipeline.team}.")[:900],
                policy.key,
                tier.urgency if tier else "high",
            )
            services.append(service)
            pipeline_services[pipeline.id] = service.key
    wanted = sorted(
        {t.ref for p in policies.values() for r in p.rules for t in r.targets if t.ref.startswith("schedule:person:")}
    )
    for key in wanted:
        person, _, variant = key.removeprefix("schedule:person:").partition(":")
        schedules.append(availability_schedule(org, engine, person, now, until, working_hours=variant == "working-hours"))
    referenced = {p for s in schedules for layer in s.layers for p in layer.people}
    referenced |= {o.person for s in schedules for o in s.overrides}
    referenced |= {t.ref for p in policies.values() for r in p.rules for t in r.targets if t.kind == "user"}
    people = {
        pid: PersonRef(pid, person.name, person.email, person.pagerduty_id)
        for pid, person in org.people.items()
        if pid in referenced
    }
    return PagerDutyDesired(
        now,
        until,
        people,
        tuple(schedules),
        tuple(policies.values()),
        tuple(services),
        pipeline_services,
        team_services,
        tuple(notices),
        settings,
    )


def rename_fix(naming: PagerDutySettings, key: str) -> str:
    """How to give the object of ``key`` another name: the settings its name comes from."""
    prefix = f"settings.pagerduty.name_prefix (now {naming.name_prefix!r})"
    if key.startswith("service:pipeline:"):
        setting, value = "service_name", naming.service_name
    elif key.startswith("service:team:"):
        setting, value = "team_service_name", naming.team_service_name
    elif key.startswith("schedule:") and not key.startswith("schedule:person:"):
        setting, value = "schedule_name", naming.schedule_name
    else:  # escalation policies and people's schedules: the prefix alone
        return f"set {prefix} in ownership.yaml"
    return f"set settings.pagerduty.{setting} (now {value!r}) or {prefix} in ownership.yaml"


# -- rotation schedules --------------------------------------------------------------------


def rotation_schedules(org: Org, engine: Engine, rotation: Rotation, now: datetime, until: datetime) -> list[ScheduleSpec]:
    """The primary schedule of a rotation, and the secondary one for depth 2."""
    grid = engine.grid(rotation.id)
    roster = Roster(rotation, grid)
    roles = ["primary"]
    if rotation.depth == 2 and any(len(p.members) > 1 for p in roster.periods):
        roles.append("secondary")
    slots = engine.slots(rotation.id, now, until, clip=False)
    out = []
    for role in roles:
        offset = 0 if role == "primary" else 1
        layers = []
        for number, period in enumerate(roster.periods):
            end_shift = roster.period_end(period)
            end = grid.boundary(end_shift) if end_shift is not None else None
            if end is not None and end <= now:
                continue  # a roster of the past: PagerDuty keeps its history
            start = grid.boundary(period.first_shift)
            members = period.members
            first = (period.offset + offset) % len(members)
            local = start.astimezone(grid.tz)
            layers.append(
                LayerSpec(
                    f"Roster from {local:%Y-%m-%d}" if number else "Rotation",
                    start,
                    end,
                    start,
                    rotation.shift,
                    members[first:] + members[:first],
                    (),
                )
            )
        assignments = [_slot_assignment(slot, role, roster) for slot in slots]
        overrides = _within(to_overrides(a for a in assignments if a is not None), until)
        out.append(
            ScheduleSpec(
                schedule_key(rotation.id, role),
                schedule_name(org, rotation, role),
                f"The {role} on-call of {rotation.title} (rotation {rotation.id}, team {rotation.team}). "
                "Kept by opsctl from the ops repository: change the YAML, not this schedule.",
                rotation.timezone,
                tuple(layers),
                tuple(overrides),
            )
        )
    return out


def _within(overrides: list[OverrideSpec], until: datetime) -> list[OverrideSpec]:
    """The overrides that begin within the horizon: those a read of the horizon finds again."""
    return [o for o in overrides if o.start < until]


def _slot_assignment(slot: Slot, role: str, roster: Roster) -> Assignment | None:
    """Who the role's schedule should page during ``slot``, against what the layers give."""
    period = roster.period(slot.shift)
    base_first = period.base_primary(slot.shift)
    first, second = slot.primary, slot.secondary
    why = "; ".join(slot.brief_reasons)
    if not slot.primary_available and second is not None and slot.secondary_available:
        # reduced duty: the secondary is paged first while the primary is away
        first, second = second, first
    if role == "primary":
        return Assignment(slot.start, slot.end, first, base_first, why)
    if second is None or len(period.members) < 2:
        return None
    base_second = period.members[(period.position(slot.shift) + 1) % len(period.members)]
    return Assignment(slot.start, slot.end, second, base_second, why)


# -- availability schedules -----------------------------------------------------------------


def availability_key(person: str, *, working_hours: bool) -> str:
    return f"schedule:person:{person}" + (":working-hours" if working_hours else "")


def availability_schedule(
    org: Org, engine: Engine, person_id: str, now: datetime, until: datetime, *, working_hours: bool
) -> ScheduleSpec:
    """``person_id`` on call whenever they can be paged (in working hours, when asked), nobody otherwise.

    Absences that overlap the horizon are gaps between layers; each layer keeps the
    absence's real bounds (not clipped at ``now``), so the layers stay the same from run to
    run until an absence is added or removed. Layers that ended before ``now`` are left
    out: PagerDuty keeps them as history.
    """
    person = org.people[person_id]
    tz = ZoneInfo(person.timezone)
    anchor = datetime.combine(OWNER_LAYER_ANCHOR, time(0), tzinfo=tz).astimezone(UTC)
    absences = [(a.start, a.end) for a in engine.availability.conflicts(person_id, now, until)]
    hours = working_hours_of(person, org) if working_hours else None
    restrictions = restrictions_for(hours)
    layers = []
    for start, hi in complement(absences, anchor):
        if hi is not None and hi <= now:
            continue
        label = "In working hours" if hours else "Available"
        if start != anchor:
            label += f" from {start.astimezone(tz):%Y-%m-%d %H:%M}"
        if hi is not None:
            label += f" until {hi.astimezone(tz):%Y-%m-%d %H:%M}"
        layers.append(LayerSpec(label, start, hi, start, timedelta(weeks=1), (person_id,), restrictions))
    words = "in their working hours" if hours else "whenever they are available"
    return ScheduleSpec(
        availability_key(person_id, working_hours=hours is not None),
        org.settings.pagerduty.name_prefix + f"{person.name} ({person_id}) · " + ("in working hours" if hours else "available"),
        f"{person.name} is on call here {words}, and nobody is while they are away (time off, public holidays), "
        "so an escalation level that targets this schedule passes them over at once. "
        "Kept by opsctl from the ops repository: change the YAML, not this schedule.",
        person.timezone,
        tuple(layers),
        (),
    )


# -- escalation policies -------------------------------------------------------------------


def _owner_target(org: Org, person: str) -> TargetSpec:
    hours = working_hours_of(org.people[person], org) is not None
    return TargetSpec("schedule", availability_key(person, working_hours=hours))


def _oncall_rules(org: Org, team: Team) -> list[RuleSpec]:
    delays = org.settings.escalation
    rules = []
    rotations = org.rotations_of(team.id)
    if rotations:
        # the chain follows the team's first rotation (as escalation_chain does)
        rotation = rotations[0]
        rules.append(
            RuleSpec("on-call primary", delays.oncall_primary, (TargetSpec("schedule", schedule_key(rotation.id, "primary")),))
        )
        if rotation.depth == 2 and any(len(c) > 1 for c in _rosters(rotation)):
            rules.append(
                RuleSpec(
                    "on-call secondary",
                    delays.oncall_secondary,
                    (TargetSpec("schedule", schedule_key(rotation.id, "secondary")),),
                )
            )
    if team.lead:
        # after an on-call level there is always somebody who was paged, so the lead may be
        # passed over while away; with no rotation the lead is paged directly, so that an
        # incident always has somebody
        target = TargetSpec("schedule", availability_key(team.lead, working_hours=False)) if rotations else None
        rules.append(RuleSpec("team lead", delays.after("lead"), (target or TargetSpec("user", team.lead),)))
    return rules


def _rosters(rotation: Rotation) -> list[tuple[str, ...]]:
    return [tuple(rotation.members), *(tuple(c.members) for c in rotation.roster_changes)]


def _without_repeats(rules: list[RuleSpec]) -> list[RuleSpec]:
    """The rules without those whose targets an earlier rule already pages (the same schedule
    at two levels would page the same person twice; the chain skips them the second time)."""
    seen: set[tuple[TargetSpec, ...]] = set()
    out = []
    for rule in rules:
        if rule.targets in seen:
            continue
        seen.add(rule.targets)
        out.append(rule)
    return out


def team_policy(org: Org, team: Team) -> PolicySpec:
    return PolicySpec(
        f"policy:team:{team.id}",
        org.settings.pagerduty.name_prefix + f"{team.name} on-call ({team.id})",
        f"The on-call of {team.name}: primary, secondary, then the lead; for alerts that match no pipeline.",
        tuple(_oncall_rules(org, team)),
    )


def owners_key(pipeline: Pipeline) -> str:
    owners = [pipeline.primary] if pipeline.primary == pipeline.secondary else [pipeline.primary, pipeline.secondary]
    return f"policy:owners:{pipeline.team}:" + ":".join(owners)


def pipeline_policy(org: Org, pipeline: Pipeline) -> PolicySpec:
    """The policy of every pipeline with ``pipeline``'s team and owners."""
    delays = org.settings.escalation
    team = org.teams[pipeline.team]
    rules = [RuleSpec("pipeline primary owner", delays.pipeline_primary, (_owner_target(org, pipeline.primary),))]
    rules.append(RuleSpec("pipeline secondary owner", delays.pipeline_secondary, (_owner_target(org, pipeline.secondary),)))
    rules.extend(_oncall_rules(org, team))
    primary, secondary = org.people[pipeline.primary], org.people[pipeline.secondary]
    owners = primary.name if primary.id == secondary.id else f"{primary.name}, {secondary.name}"
    ids = pipeline.primary if primary.id == secondary.id else f"{pipeline.primary}, {pipeline.secondary}"
    return PolicySpec(
        owners_key(pipeline),
        org.settings.pagerduty.name_prefix + f"{owners}, then {team.name} on-call ({ids}; {team.id})",
        f"The pipelines of team {team.id} owned by {ids}: the primary owner, the secondary owner (each in their "
        f"working hours and when available), the on-call of {team.name}, then the lead.",
        tuple(_without_repeats(rules)),
    )


def person_label(person: Person | PersonRef) -> str:
    return f"{person.name} ({person.id}, {person.email})"
