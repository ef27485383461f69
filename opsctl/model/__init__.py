"""The org model: what users write, as frozen, typed values.

Each dataclass below is also the JSON Schema of its part of a file (``opsctl schema``):
the field name is the YAML key, the attribute docstring is its description, and the
``Annotated`` markers from :mod:`opsctl.model.spelling` say how a value is spelled.

Files and their top-level shapes:

- ``ownership.yaml`` → :class:`OwnershipFile` (settings, people, teams, pipelines)
- ``rotations/<id>.yaml`` → :class:`Rotation`
- ``rotations/time_off.yaml`` → :class:`TimeOffFile`
- ``rotations/overrides.yaml`` → :class:`OverridesFile`
- ``service_catalog/<team>.yaml`` → :class:`CatalogFile`

The loader (:mod:`opsctl.repo.loader`) turns the files into an :class:`Org`, whose
:attr:`Org.sources` remembers the file, line and column of every value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from opsctl.model.names import SCHEDULE_NAME, SERVICE_NAME, TEAM_SERVICE_NAME, USERGROUP_HANDLE, USERGROUP_NAME
from opsctl.model.spelling import CLOCK, DATE_OR_TIME, DURATION, EMAIL, IDENTIFIER, TIMEZONE, URL

if TYPE_CHECKING:
    from opsctl.model.locations import SourceMap

Id = Annotated[str, IDENTIFIER]
Duration = Annotated[timedelta, DURATION]
Clock = Annotated[time, CLOCK]
Email = Annotated[str, EMAIL]
TimeZoneName = Annotated[str, TIMEZONE]
Url = Annotated[str, URL]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DateOrTime = Annotated[date | datetime, DATE_OR_TIME]
"""A date (a whole local day) or an ISO 8601 datetime (with or without an offset)."""

# Pydantic reads this when `opsctl schema` builds the JSON Schema: unknown keys are errors,
# and the attribute docstrings become descriptions. A plain dict, so no import is needed.
_SCHEMA_CONFIG: dict[str, Any] = {"extra": "forbid", "use_attribute_docstrings": True}

FAILURE_CATEGORIES = ("data-source", "processing", "infrastructure", "dependency", "unexpected-data-change")
FailureCategory = Literal["data-source", "processing", "infrastructure", "dependency", "unexpected-data-change"]
ESCALATION_STEPS = ("pipeline_primary", "pipeline_secondary", "oncall_primary", "oncall_secondary", "lead")


# --- ownership.yaml -------------------------------------------------------------------


@dataclass(frozen=True)
class WorkingHours:
    """When a person can be paged for non-urgent alerts, in their own time zone."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    """Working days."""
    start: Clock = time(9, 0)
    """Start of the working day, local time (HH:MM)."""
    end: Clock = time(18, 0)
    """End of the working day, local time (HH:MM)."""


@dataclass(frozen=True)
class TierPolicy:
    """How alerts of a pipeline tier page."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    page: Literal["always", "working-hours"] = "always"
    """`always`: page at any hour; `working-hours`: page in the owner's working hours, otherwise post to Slack for the morning."""
    urgency: Literal["high", "low"] = "high"
    """PagerDuty urgency of the incident."""
    description: str = ""
    """What this tier means, for the runbooks."""
    freshness_grace: Duration | None = None
    """How long past its freshness SLA a silent pipeline of this tier waits before it is paged as stale."""


def _default_tiers() -> dict[str, TierPolicy]:
    return {
        "investor-facing": TierPolicy("always", "high", "Numbers reported to investors; a failure pages at any hour."),
        "business-critical": TierPolicy("always", "high", "Feeds decisions made the same day; pages at any hour."),
        "experiment": TierPolicy(
            "working-hours", "low", "Experiment analysis; pages in working hours, otherwise waits in Slack for the morning."
        ),
        "internal": TierPolicy("working-hours", "low", "Internal reporting; pages in working hours."),
    }


@dataclass(frozen=True)
class EscalationDelays:
    """How long each step of a pipeline's escalation chain has before the next step is paged."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    pipeline_primary: Duration = timedelta(minutes=15)
    """Delay after paging the pipeline's primary owner."""
    pipeline_secondary: Duration = timedelta(minutes=15)
    """Delay after paging the pipeline's secondary owner."""
    oncall_primary: Duration = timedelta(minutes=15)
    """Delay after paging the team's on-call primary."""
    oncall_secondary: Duration = timedelta(minutes=15)
    """Delay after paging the team's on-call secondary, before the team lead."""

    def after(self, step: str) -> timedelta:
        """The delay after ``step`` (one of :data:`ESCALATION_STEPS`); the lead is last."""
        value: timedelta = getattr(self, step, timedelta(minutes=15))
        return value


@dataclass(frozen=True)
class PagerDutySettings:
    """How `opsctl sync pagerduty` lays out the org in PagerDuty."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    service_per: Literal["pipeline", "team"] = "pipeline"
    """`pipeline`: a service and escalation policy per pipeline, and one per team for unmatched alerts; `team`: one per team."""
    horizon: Duration = timedelta(weeks=12)
    """How far ahead schedule overrides (swaps, reduced duty, time off, overrides) are written."""
    name_prefix: str = ""
    """Put before the name of every schedule, escalation policy and service opsctl makes, e.g. `Data · `."""
    service_name: Annotated[str, SERVICE_NAME] = "{pipeline_name} ({pipeline})"
    """Name of a pipeline's service; fields: {pipeline}, {pipeline_name}, {team}, {team_name}, {tier}."""
    team_service_name: Annotated[str, TEAM_SERVICE_NAME] = "{team_name} on-call ({team})"
    """Name of a team's service (alerts that match no pipeline); fields: {team}, {team_name}."""
    schedule_name: Annotated[str, SCHEDULE_NAME] = "{rotation_name} · {role}"
    """Name of a rotation's schedules; fields: {rotation}, {rotation_name}, {team}, {team_name}, {role}."""


@dataclass(frozen=True)
class SlackSettings:
    """How `opsctl sync slack` names the on-call user groups."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    usergroup_handle: Annotated[str, USERGROUP_HANDLE] = "{team}-oncall"
    """Handle of a team's on-call user group (what people @-mention); field: {team}; lower-case letters, digits, `.`, `-`, `_`."""
    usergroup_name: Annotated[str, USERGROUP_NAME] = "{team_name} on-call"
    """Name of a team's on-call user group; fields: {team}, {team_name}."""


@dataclass(frozen=True)
class Settings:
    """Org-wide settings."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    org_name: str = "Data"
    """The organisation's name, for page titles."""
    default_team: Id | None = None
    """Team whose on-call receives alerts that match no pipeline."""
    working_hours: WorkingHours | None = None
    """Working hours for everybody (people may set their own); unset means owners are pageable at any hour."""
    tiers: dict[str, TierPolicy] = field(default_factory=_default_tiers)
    """Pipeline tiers and how they page."""
    escalation: EscalationDelays = field(default_factory=EscalationDelays)
    """Delays between the steps of a pipeline's escalation chain."""
    horizon: Duration = timedelta(days=90)
    """How far ahead validate checks on-call coverage."""
    pagerduty: PagerDutySettings = field(default_factory=PagerDutySettings)
    """How `opsctl sync pagerduty` lays out and names what it makes in PagerDuty."""
    slack: SlackSettings = field(default_factory=SlackSettings)
    """How `opsctl sync slack` names the on-call user groups."""
    mttr_goal: Duration = timedelta(hours=2)
    """Mean time to resolve a paged alert that the on-call aims for; `opsctl report` measures against it."""


@dataclass(frozen=True)
class Person:
    """Somebody who owns pipelines or takes on-call shifts."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    id: Id
    """Short unique id used everywhere else, e.g. `de1`."""
    name: str
    """Full name."""
    email: Email
    """Work email; people are matched to PagerDuty and Slack users by it."""
    timezone: TimeZoneName
    """IANA time zone of the person, e.g. `Europe/Berlin`."""
    country: str | None = None
    """ISO 3166 country code whose public holidays apply, e.g. `DE`."""
    subdivision: str | None = None
    """Subdivision code for regional holidays, e.g. `BY` for Bavaria."""
    slack_id: str | None = None
    """Slack member id; looked up by email when absent."""
    pagerduty_id: str | None = None
    """PagerDuty user id; looked up by email when absent."""
    phone: str | None = None
    """Phone number for the runbooks' contact lines."""
    working_hours: WorkingHours | None = None
    """This person's own working hours, overriding the org's."""


@dataclass(frozen=True)
class Team:
    """A team of people with an on-call duty."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    id: Id
    """Short unique id, e.g. `data-eng`."""
    name: str
    """Display name."""
    members: tuple[Id, ...]
    """Person ids of the members."""
    lead: Id | None = None
    """Person id of the lead; required for teams of three or more."""
    group: str | None = None
    """The larger organisation the team belongs to, e.g. `Data Infrastructure`."""
    description: str = ""
    """What the team does."""
    handles: tuple[str, ...] = ()
    """Kinds of problems the team handles, for the on-call page."""
    slack_channel: str | None = None
    """Team channel, e.g. `#data-eng`; its topic names the on-call."""
    email: Email | None = None
    """Team mailing list."""


@dataclass(frozen=True)
class AlertIdentifiers:
    """How alerts name a pipeline."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    dag_ids: tuple[str, ...] = ()
    """Airflow DAG ids."""
    labels: dict[str, str] = field(default_factory=dict)
    """Alertmanager/Grafana labels that all must match, e.g. `{pipeline: aggregate_profit}`."""
    dbt_job_ids: tuple[str, ...] = ()
    """dbt Cloud job ids."""
    expectation_suites: tuple[str, ...] = ()
    """Great Expectations suite names."""
    aliases: tuple[str, ...] = ()
    """Other names alerts may use for the pipeline."""


@dataclass(frozen=True)
class DataSource:
    """Where a pipeline's data comes from."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    name: str
    """Name of the source, e.g. `Salesforce CRM`."""
    kind: str = ""
    """Kind of system, e.g. `crm`, `erp`, `database`, `api`, `event-stream`."""
    description: str = ""
    """What is read from it and how."""
    owner: str = ""
    """Who runs the source system, for escalation."""


@dataclass(frozen=True)
class Link:
    """A named link."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    name: str
    """What the link shows."""
    url: Url
    """Where it is."""


@dataclass(frozen=True)
class FailureMode:
    """A way the pipeline is known to fail, and what to do first."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    title: str
    """Short name, e.g. `CRM API outage`."""
    category: FailureCategory
    """data-source, processing, infrastructure, dependency or unexpected-data-change."""
    symptoms: str = ""
    """How it shows up: the alert, the error, the numbers."""
    first_steps: tuple[str, ...] = ()
    """What the on-call does first, in order."""


@dataclass(frozen=True)
class Pipeline:
    """A data pipeline with a primary and a secondary owner."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    id: Id
    """Short unique id, e.g. `aggregate_profit_investors`."""
    name: str
    """Display name."""
    team: Id
    """Owning team."""
    primary: Id
    """Primary owner (a member of the team)."""
    secondary: Id
    """Secondary owner (a member of the team, not the primary)."""
    tier: str
    """Tier, one of the tiers in settings (e.g. `investor-facing`, `experiment`)."""
    freshness_sla: Duration
    """How old the newest data may get; with no successful run or heartbeat for this long (and the grace) it is paged as stale."""
    freshness_grace: Duration | None = None
    """How long past the SLA the router waits before paging; default the tier's, else a tenth of the SLA (at least 5m)."""
    watch_from: DateOrTime | None = None
    """Watch a pipeline never heard from since then (a date is midnight in its primary owner's zone); else from its first run."""
    description: str = ""
    """What the pipeline produces and for whom."""
    schedule: str = ""
    """When it runs, e.g. a cron expression or `hourly`."""
    alerts: AlertIdentifiers = field(default_factory=AlertIdentifiers)
    """How alerts identify this pipeline."""
    data_sources: tuple[DataSource, ...] = ()
    """Where the data comes from."""
    transformations: tuple[str, ...] = ()
    """What is done to the data, in order."""
    validation_checks: tuple[str, ...] = ()
    """Checks that guard the output."""
    alerting: tuple[str, ...] = ()
    """What alerts fire and where they go."""
    monitoring: tuple[Link, ...] = ()
    """Dashboards and logs."""
    failure_modes: tuple[FailureMode, ...] = ()
    """Known failure modes with first steps."""
    slack_channel: str | None = None
    """Channel for this pipeline's alerts; the team channel when absent."""


@dataclass(frozen=True)
class OwnershipFile:
    """`ownership.yaml`: people, teams, pipelines and org settings."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    people: tuple[Person, ...]
    """Everybody who owns or takes shifts."""
    teams: tuple[Team, ...]
    """Teams and their members."""
    pipelines: tuple[Pipeline, ...] = ()
    """Pipelines and their owners."""
    settings: Settings = field(default_factory=Settings)
    """Org-wide settings."""


# --- rotations/ -----------------------------------------------------------------------


@dataclass(frozen=True)
class RosterChange:
    """A new roster from a given handoff on; earlier shifts are untouched."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    effective: DateOrTime
    """The handoff from which the new roster applies: a date (at the handoff time) or a datetime on a shift boundary."""
    members: tuple[Id, ...]
    """The new roster, in rotation order."""
    first: Id | None = None
    """Who takes the first shift under the new roster (default: the next member in the old order who is still on the roster)."""
    reason: str = ""
    """Why the roster changed."""


@dataclass(frozen=True)
class Rotation:
    """`rotations/<id>.yaml`: an on-call rotation."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    id: Id
    """Short unique id, e.g. `data-eng-weekly`."""
    team: Id
    """The team this rotation covers."""
    members: tuple[Id, ...]
    """Members in rotation order; shift k's base primary is members[k mod n]."""
    timezone: TimeZoneName
    """IANA time zone of the handoff time."""
    start: date
    """Date of the first shift, which begins at the handoff time."""
    name: str = ""
    """Display name; the id when empty."""
    shift: Duration = timedelta(weeks=1)
    """Shift length in local wall time, e.g. 1w, 1d, 12h."""
    handoff: Clock = time(9, 0)
    """Local time of the handoff (HH:MM)."""
    depth: Literal[1, 2] = 1
    """1: primary only; 2: primary and secondary."""
    public_holidays: bool = True
    """Whether members' public holidays make them unavailable."""
    roster_changes: tuple[RosterChange, ...] = ()
    """Later rosters, in date order."""

    @property
    def title(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class TimeOff:
    """Time a person cannot be on call or paged."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    person: Id
    """Who is away."""
    start: DateOrTime
    """First day (whole local day) or the exact start."""
    end: DateOrTime
    """Last day, included (whole local day), or the exact end."""
    reason: str = ""
    """Vacation, conference, sick leave, …"""


@dataclass(frozen=True)
class TimeOffFile:
    """`rotations/time_off.yaml`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    time_off: tuple[TimeOff, ...] = ()
    """Everybody's time off."""


@dataclass(frozen=True)
class Override:
    """A person who takes a role of a rotation for an interval; applied last, it wins."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    rotation: Id
    """The rotation."""
    person: Id
    """Who takes over."""
    start: DateOrTime
    """Start; times without an offset are in the rotation's time zone, a date is its midnight."""
    end: DateOrTime
    """End (excluded); a date is its midnight."""
    role: Literal["primary", "secondary"] = "primary"
    """Which role is overridden."""
    reason: str = ""
    """Why."""


@dataclass(frozen=True)
class OverridesFile:
    """`rotations/overrides.yaml`."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    overrides: tuple[Override, ...] = ()
    """Overrides of all rotations."""


# --- service_catalog/ -----------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSla:
    """What a service promises."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    response: Duration
    """Time to first response to a request or incident."""
    resolution: Duration
    """Time to resolve (MTTR target)."""
    freshness: Duration | None = None
    """For data services: how old the newest data may be."""
    availability: str = ""
    """Availability target, e.g. `99.9%`."""
    hours: str = ""
    """Support hours, e.g. `24x7` or `business hours CET`."""


@dataclass(frozen=True)
class IntakeChannel:
    """How to ask a team for something."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    kind: Literal["slack", "email", "jira", "pagerduty", "form", "office-hours"]
    """Kind of channel."""
    target: str
    """Channel name, address, project key or URL."""
    use_for: str = ""
    """What to use it for."""


@dataclass(frozen=True)
class EscalationStep:
    """One step of a team's escalation path."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    who: str
    """Who is reached at this step, in words."""
    after: Duration = timedelta(0)
    """How long after the incident starts this step is reached."""
    person: Id | None = None
    """A person, when the step is a person."""
    rotation: Id | None = None
    """A rotation, when the step is its on-call."""
    how: str = ""
    """How to reach them."""


@dataclass(frozen=True)
class Service:
    """A service a team offers to the rest of the company."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    id: Id
    """Short unique id across the catalog."""
    name: str
    """Display name."""
    description: str
    """What the service is and does."""
    sla: ServiceSla
    """What it promises."""
    runbook: str | None = None
    """Path of the service's runbook notes, relative to the repository, e.g. `runbooks/services/kafka.md`."""
    components: tuple[str, ...] = ()
    """Technologies it is built from."""
    stakeholders: tuple[str, ...] = ()
    """Internal customers of this service, when they differ from the team's."""


@dataclass(frozen=True)
class CatalogFile:
    """`service_catalog/<team>.yaml`: what one team offers."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _SCHEMA_CONFIG

    team: Id
    """The team offering these services."""
    services: tuple[Service, ...]
    """The services."""
    summary: str = ""
    """One paragraph on the team's mission."""
    stakeholders: tuple[str, ...] = ()
    """The team's internal customers."""
    intake: tuple[IntakeChannel, ...] = ()
    """How to ask the team for something."""
    escalation: tuple[EscalationStep, ...] = ()
    """The escalation path, in order."""


# --- the loaded org -------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    """Everything in an ops repository, references checked.

    Mappings keep file order. ``sources`` knows where each value was written.
    """

    settings: Settings
    people: dict[str, Person]
    teams: dict[str, Team]
    pipelines: dict[str, Pipeline]
    rotations: dict[str, Rotation]
    time_off: tuple[TimeOff, ...]
    overrides: tuple[Override, ...]
    catalogs: tuple[CatalogFile, ...]
    sources: SourceMap = field(compare=False, repr=False)

    def rotations_of(self, team: str) -> list[Rotation]:
        return [r for r in self.rotations.values() if r.team == team]

    def services(self) -> list[Service]:
        return [service for catalog in self.catalogs for service in catalog.services]


_T = TypeVar("_T")


def _grouped(items: Iterable[_T], key: Callable[[_T], str]) -> dict[str, list[_T]]:
    """``items`` by ``key``, each group in the order of ``items``."""
    groups: dict[str, list[_T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def team_slices(org: Org) -> dict[str, Org]:
    """Per team, the part of the org its on-call answers depend on, as an org of its own.

    A slice holds the team, its rotations and their overrides, its pipelines, every person
    those name (members, every roster, override people, owners), and the time off of those
    people: what `whoisoncall --team`, `--pipeline` and `explain` read. The schedule of a
    rotation depends on nothing else, so a slice answers exactly as the whole org does.
    Catalogs and file locations are left out. Built for all teams in one pass.
    """
    from opsctl.model.locations import SourceMap

    rotations = _grouped(org.rotations.values(), lambda rotation: rotation.team)
    overrides = _grouped(org.overrides, lambda override: override.rotation)
    pipelines = _grouped(org.pipelines.values(), lambda pipeline: pipeline.team)
    time_off = _grouped(org.time_off, lambda entry: entry.person)
    slices = {}
    for team in org.teams.values():
        names: dict[str, None] = dict.fromkeys(team.members)
        if team.lead:
            names[team.lead] = None
        team_overrides = [o for r in rotations.get(team.id, []) for o in overrides.get(r.id, [])]
        for rotation in rotations.get(team.id, []):
            names.update(dict.fromkeys(rotation.members))
            for change in rotation.roster_changes:
                names.update(dict.fromkeys(change.members))
        names.update(dict.fromkeys(o.person for o in team_overrides))
        for pipeline in pipelines.get(team.id, []):
            names.update(dict.fromkeys((pipeline.primary, pipeline.secondary)))
        people = {name: org.people[name] for name in names if name in org.people}
        kept = {id(o) for o in team_overrides}
        slices[team.id] = Org(
            settings=org.settings,
            people=people,
            teams={team.id: team},
            pipelines={p.id: p for p in pipelines.get(team.id, [])},
            rotations={r.id: r for r in rotations.get(team.id, [])},
            time_off=tuple(entry for name in people for entry in time_off.get(name, [])),
            overrides=tuple(o for o in org.overrides if id(o) in kept),  # in file order: the last written wins
            catalogs=(),
            sources=SourceMap(),
        )
    return slices


FILE_KINDS: dict[str, type] = {
    "ownership": OwnershipFile,
    "rotation": Rotation,
    "time_off": TimeOffFile,
    "overrides": OverridesFile,
    "service_catalog": CatalogFile,
}
"""The file kinds of an ops repository and the type of each file's top level."""
