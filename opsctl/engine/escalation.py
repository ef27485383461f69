"""Who is paged for a pipeline at an instant, in order (docs/escalation.md).

The chain is the pipeline's primary owner, its secondary owner, the team's on-call primary
and secondary, then the team lead, skipping anybody unavailable at that moment (time off,
public holidays) and anybody already in the chain. Owners outside their working hours
(when the org or the person sets them) count as unavailable for paging, so at night the
chain starts at the on-call. An alert that matches no pipeline goes to the on-call of the
default team. The pipeline's tier decides whether to page now or post to Slack for the
morning. Pure: the instant and the engine come in as arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from opsctl.engine.schedule.resolve import Engine
from opsctl.engine.schedule.timeline import Slot
from opsctl.model import ESCALATION_STEPS, Org, Person, Pipeline, TierPolicy, WorkingHours
from opsctl.model.spelling import WEEKDAYS
from opsctl.model.zones import zone

Role = Literal["pipeline_primary", "pipeline_secondary", "oncall_primary", "oncall_secondary", "lead"]
_ROLE_WORDS = {
    "pipeline_primary": "pipeline primary owner",
    "pipeline_secondary": "pipeline secondary owner",
    "oncall_primary": "on-call primary",
    "oncall_secondary": "on-call secondary",
    "lead": "team lead",
}


@dataclass(frozen=True)
class ChainStep:
    """One step of the chain: who, in which role, and why they are skipped (if they are)."""

    role: Role
    person: str | None
    delay: timedelta
    """How long to wait for an acknowledgement before the next step."""
    skipped: str = ""
    """Why this step is not paged; empty when it is."""

    @property
    def paged(self) -> bool:
        return self.person is not None and not self.skipped

    @property
    def role_words(self) -> str:
        return _ROLE_WORDS[self.role]


@dataclass(frozen=True)
class Chain:
    """The escalation chain for one alert at one instant."""

    team: str
    pipeline: str | None
    steps: tuple[ChainStep, ...]
    page_now: bool
    """False for a working-hours tier outside the owners' working hours: post to Slack only."""
    urgency: Literal["high", "low"]
    reason: str
    """Why the chain pages now or waits, in words."""
    rotation: str | None = None
    slot: Slot | None = None

    @property
    def targets(self) -> list[str]:
        """The people paged, in order."""
        return [step.person for step in self.steps if step.paged and step.person is not None]


def working_hours_of(person: Person, org: Org) -> WorkingHours | None:
    return person.working_hours or org.settings.working_hours


def in_working_hours(person: Person, org: Org, instant: datetime) -> bool:
    """Whether ``instant`` is in ``person``'s working hours (always, when none are set)."""
    hours = working_hours_of(person, org)
    if hours is None:
        return True
    local = instant.astimezone(zone(person.timezone))
    if WEEKDAYS[local.weekday()] not in hours.days:
        return False
    clock = local.time().replace(tzinfo=None)
    if hours.start <= hours.end:
        return hours.start <= clock < hours.end
    return clock >= hours.start or clock < hours.end  # hours across midnight


def absence_reason(engine: Engine, person: str, instant: datetime) -> str:
    """Why ``person`` cannot be paged at ``instant`` (time off or a public holiday), or ``""``."""
    conflicts = engine.availability.conflicts(person, instant, instant + timedelta(microseconds=1))
    return conflicts[0].describe() if conflicts else ""


def oncall_slot(engine: Engine, org: Org, team: str, instant: datetime) -> Slot | None:
    """The on-call slot of the team's first rotation that has one at ``instant``."""
    for rotation in org.rotations_of(team):
        slot = engine.at(rotation.id, instant)
        if slot is not None:
            return slot
    return None


def tier_policy(org: Org, pipeline: Pipeline | None) -> TierPolicy:
    if pipeline is None:
        return TierPolicy("always", "high", "unmatched alerts page the default team's on-call")
    return org.settings.tiers.get(pipeline.tier, TierPolicy())


def escalation_chain(org: Org, engine: Engine, instant: datetime, pipeline: Pipeline | None, team: str | None = None) -> Chain:
    """The chain for an alert of ``pipeline`` (None: unmatched, to ``team`` or the default team)."""
    team_id = pipeline.team if pipeline is not None else (team or org.settings.default_team or next(iter(org.teams), ""))
    delays = org.settings.escalation
    policy = tier_policy(org, pipeline)
    slot = oncall_slot(engine, org, team_id, instant)
    candidates: list[tuple[Role, str | None]] = []
    if pipeline is not None:
        candidates += [("pipeline_primary", pipeline.primary), ("pipeline_secondary", pipeline.secondary)]
    candidates += [
        ("oncall_primary", slot.primary if slot else None),
        ("oncall_secondary", slot.secondary if slot else None),
    ]
    lead = org.teams[team_id].lead if team_id in org.teams else None
    candidates.append(("lead", lead))

    steps: list[ChainStep] = []
    seen: set[str] = set()
    for role, person_id in candidates:
        delay = delays.after(role) if role != "lead" else timedelta(0)
        if person_id is None:
            missing = "no secondary in this rotation" if role == "oncall_secondary" else "nobody in this role"
            steps.append(ChainStep(role, None, delay, missing))
            continue
        skipped = ""
        if person_id in seen:
            skipped = "already in the chain"
        else:
            absence = absence_reason(engine, person_id, instant)
            person = org.people.get(person_id)
            if absence:
                skipped = f"unavailable: {absence}"
            elif role.startswith("pipeline_") and person is not None and not in_working_hours(person, org, instant):
                skipped = "outside working hours"
        # Only somebody who is paged is "in the chain": an owner skipped at night for their
        # working hours must still be paged when they are also the on-call.
        if not skipped:
            seen.add(person_id)
        steps.append(ChainStep(role, person_id, delay, skipped))

    page_now, reason = True, "pages at any hour"
    if policy.page == "working-hours" and pipeline is not None:
        owners_in_hours = [
            step.person for step in steps if step.role.startswith("pipeline_") and step.paged and step.person is not None
        ]
        if owners_in_hours:
            reason = "in the owners' working hours: pages now"
        else:
            page_now = False
            reason = f"tier {pipeline.tier!r} pages in working hours only: posted to Slack for the morning"
    if not any(step.paged for step in steps):
        reason += "; nobody in the chain is available, so the whole team channel is told"
    return Chain(
        team_id,
        pipeline.id if pipeline else None,
        tuple(steps),
        page_now,
        policy.urgency,
        reason,
        slot.rotation if slot else None,
        slot,
    )


__all__ = ["ESCALATION_STEPS", "Chain", "ChainStep", "escalation_chain", "in_working_hours", "oncall_slot"]
