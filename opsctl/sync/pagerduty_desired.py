"""What PagerDuty should hold, computed from the org: pure (org, engine, now, settings).

Objects, each with a managed key (:mod:`opsctl.sync.marker`):

- ``schedule:<rotation>:primary`` (and ``:secondary`` for depth 2): layers from the
  rotation (one layer per roster period still in force); overrides for the horizon
  wherever the engine's answer differs from the plain rotation: swaps, overrides from
  ``rotations/overrides.yaml``, and reduced duty, during which the secondary is paged
  first (the primary and secondary schedules trade places for that interval).
- ``schedule:<pipeline>:first-owner`` and ``:second-owner``: the pipeline's primary and
  secondary owner, on call in their working hours (weekly restrictions, when the org
  sets working hours). While an owner is away (time off, public holiday), an override
  hands their time to whoever SPEC §6's chain pages instead at that moment
  (:func:`opsctl.engine.escalation.escalation_chain`): the secondary owner, else the on-call.
  So the person paged first is always available.
- ``policy:pipeline:<pipeline>``: first owner, second owner, the team's on-call primary
  and secondary schedules, then the lead, with the delays of ``settings.escalation``.
  ``policy:team:<team>``: the on-call part of that chain, for alerts that match no
  pipeline (and for every alert when services are per team).
- ``service:pipeline:<pipeline>`` (with ``settings.pagerduty.service_per: pipeline``) and
  ``service:team:<team>`` (always), each with an Events API v2 integration whose routing
  key the alert router reads (:mod:`opsctl.sync.pagerduty_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from opsctl.engine.escalation import Chain, escalation_chain, in_working_hours, working_hours_of
from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.roster import Roster
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import Org, Person, Pipeline, Rotation, Team
from opsctl.sync.pagerduty_overrides import (
    Assignment,
    OverrideSpec,
    Restriction,
    clock_bounds,
    merge_intervals,
    restrictions_for,
    to_overrides,
)
from opsctl.sync.plan import Notice

OWNER_LAYER_ANCHOR = date(2024, 1, 1)
"""Owner schedules rotate among one person; their layer starts at this fixed Monday, so it never changes."""
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


def schedule_key(owner: str, role: str) -> str:
    return f"schedule:{owner}:{role}"


def desired_pagerduty(org: Org, engine: Engine, now: datetime) -> PagerDutyDesired:
    """Everything opsctl manages in PagerDuty for ``org`` as of ``now``."""
    settings = org.settings.pagerduty
    until = now + settings.horizon
    schedules: list[ScheduleSpec] = []
    policies: list[PolicySpec] = []
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
        policies.append(policy)
        service = ServiceSpec(
            f"service:team:{team.id}",
            f"{team.name} on-call ({team.id})",
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
            schedules.extend(owner_schedules(org, engine, pipeline, now, until))
            policy = pipeline_policy(org, pipeline)
            policies.append(policy)
            tier = org.settings.tiers.get(pipeline.tier)
            service = ServiceSpec(
                f"service:pipeline:{pipeline.id}",
                f"{pipeline.name} ({pipeline.id})",
                (pipeline.description.strip() or f"Pipeline {pipeline.id} of team {pipeline.team}.")[:900],
                policy.key,
                tier.urgency if tier else "high",
            )
            services.append(service)
            pipeline_services[pipeline.id] = service.key
    referenced = {p for s in schedules for layer in s.layers for p in layer.people}
    referenced |= {o.person for s in schedules for o in s.overrides}
    referenced |= {t.ref for p in policies for r in p.rules for t in r.targets if t.kind == "user"}
    people = {
        pid: PersonRef(pid, person.name, person.email, person.pagerduty_id)
        for pid, person in org.people.items()
        if pid in referenced
    }
    return PagerDutyDesired(
        now, until, people, tuple(schedules), tuple(policies), tuple(services), pipeline_services, team_services, tuple(notices)
    )


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
                f"{rotation.title} · {role}",
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


# -- owner schedules -----------------------------------------------------------------------


def owner_schedules(org: Org, engine: Engine, pipeline: Pipeline, now: datetime, until: datetime) -> list[ScheduleSpec]:
    """The first-owner and second-owner schedules of a pipeline."""
    first, second = owner_assignments(org, engine, pipeline, now, until)
    out = []
    for role, person_id, assignments in (
        ("first-owner", pipeline.primary, first),
        ("second-owner", pipeline.secondary, second),
    ):
        person = org.people[person_id]
        anchor = datetime.combine(OWNER_LAYER_ANCHOR, time(0), tzinfo=ZoneInfo(person.timezone)).astimezone(UTC)
        hours = working_hours_of(person, org)
        layer = LayerSpec(
            "Owner in working hours" if hours else "Owner",
            anchor,
            None,
            anchor,
            timedelta(weeks=1),
            (person_id,),
            restrictions_for(hours),
        )
        words = "primary" if role == "first-owner" else "secondary"
        out.append(
            ScheduleSpec(
                schedule_key(pipeline.id, role),
                f"{pipeline.name} · {role.replace('-', ' ')}",
                f"The {words} owner of pipeline {pipeline.id}"
                + (" in their working hours" if hours else "")
                + "; while they are away, whoever the escalation chain pages instead. "
                "Kept by opsctl from the ops repository: change the YAML, not this schedule.",
                person.timezone,
                (layer,),
                tuple(_within(to_overrides(assignments), until)),
            )
        )
    return out


def owner_assignments(
    org: Org, engine: Engine, pipeline: Pipeline, now: datetime, until: datetime
) -> tuple[list[Assignment], list[Assignment]]:
    """Who the first-owner and second-owner schedules should page while an owner is away.

    Only the owners' absences need a look: elsewhere the layers are right by
    construction (an owner in working hours and available is paged at their step). Within
    an absence the chain is evaluated on every interval where none of its inputs change
    (working hours, absences, on-call slots), so each assignment is exact.
    """
    primary, secondary = org.people[pipeline.primary], org.people[pipeline.secondary]
    absences = [
        (max(a.start, now), a.end)
        for person in (primary, secondary)
        for a in engine.availability.conflicts(person.id, now, until)
    ]
    first: list[Assignment] = []
    second: list[Assignment] = []
    for lo, hi in merge_intervals(absences):
        for start, end in pairwise(sorted(_cut_points(org, engine, pipeline, lo, hi))):
            chain = escalation_chain(org, engine, start, pipeline)
            targets = chain.targets
            first_person: str | None = None
            if in_working_hours(primary, org, start):
                first_person = targets[0] if targets else primary.id
                first.append(Assignment(start, end, first_person, primary.id, _stand_in_reason(chain, first_person)))
            if in_working_hours(secondary, org, start):
                person = next((p for p in targets if p != first_person), secondary.id)
                second.append(Assignment(start, end, person, secondary.id, _stand_in_reason(chain, person)))
    return first, second


def _cut_points(org: Org, engine: Engine, pipeline: Pipeline, lo: datetime, hi: datetime) -> set[datetime]:
    points = {lo, hi}
    people: set[str] = {pipeline.primary, pipeline.secondary}
    team = org.teams.get(pipeline.team)
    if team is not None and team.lead:
        people.add(team.lead)
    for rotation in org.rotations_of(pipeline.team):
        for slot in engine.slots(rotation.id, lo, hi):
            points.update((slot.start, slot.end))
            people.update(p for p in (slot.primary, slot.secondary) if p)
    for person_id in sorted(people):
        for absence in engine.availability.conflicts(person_id, lo, hi):
            points.update(t for t in (absence.start, absence.end) if lo < t < hi)
    for person_id in (pipeline.primary, pipeline.secondary):
        person = org.people[person_id]
        hours = working_hours_of(person, org)
        if hours is not None:
            points.update(clock_bounds(hours, person.timezone, lo, hi))
    return points


def _stand_in_reason(chain: Chain, person: str) -> str:
    skipped = [f"{s.person} {s.skipped}" for s in chain.steps if s.role.startswith("pipeline_") and s.skipped and s.person]
    step = next((s for s in chain.steps if s.person == person and s.paged), None)
    role = f" ({step.role_words})" if step else ""
    return "; ".join(skipped) + f": {person}{role} is paged instead"


# -- escalation policies -------------------------------------------------------------------


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
        if rotation.depth == 2:
            rules.append(
                RuleSpec(
                    "on-call secondary",
                    delays.oncall_secondary,
                    (TargetSpec("schedule", schedule_key(rotation.id, "secondary")),),
                )
            )
    if team.lead:
        rules.append(RuleSpec("team lead", delays.after("lead"), (TargetSpec("user", team.lead),)))
    return rules


def team_policy(org: Org, team: Team) -> PolicySpec:
    return PolicySpec(
        f"policy:team:{team.id}",
        f"{team.name} on-call ({team.id})",
        f"The on-call of {team.name}: primary, secondary, then the lead (SPEC §6 without pipeline owners).",
        tuple(_oncall_rules(org, team)),
    )


def pipeline_policy(org: Org, pipeline: Pipeline) -> PolicySpec:
    delays = org.settings.escalation
    rules = [
        RuleSpec(
            "pipeline primary owner",
            delays.pipeline_primary,
            (TargetSpec("schedule", schedule_key(pipeline.id, "first-owner")),),
        ),
        RuleSpec(
            "pipeline secondary owner",
            delays.pipeline_secondary,
            (TargetSpec("schedule", schedule_key(pipeline.id, "second-owner")),),
        ),
    ]
    rules.extend(_oncall_rules(org, org.teams[pipeline.team]))
    return PolicySpec(
        f"policy:pipeline:{pipeline.id}",
        f"{pipeline.name} ({pipeline.id})",
        f"Pipeline {pipeline.id}: its primary owner, its secondary owner, the on-call of team {pipeline.team}, "
        "then the lead, skipping owners away or outside their working hours.",
        tuple(rules),
    )


def person_label(person: Person | PersonRef) -> str:
    return f"{person.name} ({person.id}, {person.email})"
