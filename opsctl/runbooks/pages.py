"""The runbook site as plain data: a page per pipeline and per catalog service, and the index.

:func:`build_site` is pure: the org, the schedule engine, the instant of rendering, the
texts of the notes and the last-changed dates come in as arguments; the command reads
files, git and the clock. The templates see these values as they are, model objects
included (``page.pipeline`` is the :class:`~opsctl.model.Pipeline`), so a team that edits a
template can show any field the org has.

Pages are named by a *stem*, the output path without its suffix (``pipelines/<id>``,
``services/<id>``, ``index``); the renderer adds ``.md`` or ``.html``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from opsctl.answers.oncall import answers
from opsctl.engine.escalation import absence_reason, escalation_chain, tier_policy
from opsctl.engine.schedule.resolve import Engine
from opsctl.model import CatalogFile, EscalationStep, Org, Pipeline, Service, Team, TierPolicy
from opsctl.model.spelling import format_duration

if TYPE_CHECKING:
    from opsctl.runbooks.health import HealthPage

INDEX = "index"
PIPELINE_NOTES = "runbooks/pipelines"
"""Where the team's notes of pipeline ``<id>`` live: ``runbooks/pipelines/<id>.md``."""


def pipeline_stem(pipeline_id: str) -> str:
    return f"pipelines/{pipeline_id}"


def service_stem(service_id: str) -> str:
    return f"services/{service_id}"


def pipeline_note_path(pipeline_id: str) -> str:
    return f"{PIPELINE_NOTES}/{pipeline_id}.md"


def note_paths(org: Org) -> dict[str, str]:
    """Page stem → the repository path of the notes it renders in (a pipeline's may not exist)."""
    paths = {pipeline_stem(p): pipeline_note_path(p) for p in org.pipelines}
    for service in org.services():
        if service.runbook:
            paths[service_stem(service.id)] = service.runbook
    return paths


@dataclass(frozen=True)
class Contact:
    """A person as a runbook shows them: how to reach them, and whether they can be paged now."""

    id: str
    name: str
    email: str | None = None
    phone: str | None = None
    slack_id: str | None = None
    timezone: str | None = None
    away: str = ""
    """Why they cannot be paged at the time of rendering (time off, a public holiday); empty when they can."""


@dataclass(frozen=True)
class OnCall:
    """Who is on call for one rotation at the time of rendering (from :func:`opsctl.answers.oncall.answers`)."""

    rotation: str
    rotation_name: str
    team: str
    timezone: str
    primary: Contact | None
    secondary: Contact | None
    until: datetime | None
    """When this answer ends (a handoff, an override, an absence), in the rotation's zone."""
    reduced: bool
    notes: tuple[str, ...]
    """Why the answer differs from the plain rotation, a few words each."""


@dataclass(frozen=True)
class EscalationRow:
    """One step of a pipeline's escalation chain (docs/escalation.md), as it stands at the time of rendering."""

    role: str
    """In words, e.g. `pipeline primary owner`."""
    who: Contact | None
    wait: timedelta
    """How long this step has to acknowledge before the next is paged (0 for the lead)."""
    paged_after: timedelta | None
    """When this step would be paged, counted from the alert; None when it is skipped."""
    skipped: str
    """Why the step is skipped now; empty when it is paged."""


@dataclass(frozen=True)
class ServiceStep:
    """One step of a catalog's escalation path, with the person or the on-call it reaches now."""

    step: EscalationStep
    contact: Contact | None
    oncall: OnCall | None


@dataclass(frozen=True)
class Note:
    """Markdown written by the team, rendered into a page."""

    path: str
    """Where it lives in the repository, e.g. `runbooks/pipelines/<id>.md`."""
    text: str


@dataclass(frozen=True)
class PageLink:
    """A page as lists, navigation and search show it."""

    stem: str
    title: str
    kind: Literal["pipeline", "service"]
    team: str
    team_name: str
    owners: tuple[str, ...]
    """Names to search by: a pipeline's owners; a service's team lead."""
    detail: str = ""
    """A few words beside the title: a pipeline's tier, a service's response time."""


@dataclass(frozen=True)
class Freshness:
    """What the alert router last heard from a pipeline (the site is rendered with its database)."""

    last_success: datetime | None
    """Its last successful run or heartbeat (UTC); None: never heard from."""
    source: str
    """What told it: a source name, or ``heartbeat``."""
    state: str
    """``fresh``, ``past its SLA``, ``stale`` or ``never heard from``, as of the rendering."""
    stale_in: str
    """How long until it goes stale, or since when it is (``2 h 10 min``, ``stale for 35 min``)."""
    grace: timedelta
    """How long past its SLA the router waits before paging that it is stale."""
    alert_open: bool
    """Its stale alert is open (its owners were paged)."""


@dataclass(frozen=True)
class PipelinePage:
    stem: str
    title: str
    pipeline: Pipeline
    team: Team
    tier: TierPolicy
    primary: Contact
    secondary: Contact
    lead: Contact | None
    slack_channel: str | None
    """Where the pipeline's alerts go: its own channel, else its team's."""
    escalation: tuple[EscalationRow, ...]
    page_now: bool
    """Whether an alert at the time of rendering pages now (False: it waits in Slack for working hours)."""
    oncall: tuple[OnCall, ...]
    notes: Note | None
    last_changed: date | None
    related: tuple[PageLink, ...]
    """The team's other pages, for the navigation."""
    freshness: Freshness | None = None
    """Its last success, when the site is rendered with the alert router's database."""


@dataclass(frozen=True)
class ServicePage:
    stem: str
    title: str
    service: Service
    catalog: CatalogFile
    team: Team
    lead: Contact | None
    stakeholders: tuple[str, ...]
    """The service's own stakeholders, else its team's."""
    escalation: tuple[ServiceStep, ...]
    oncall: tuple[OnCall, ...]
    notes: Note | None
    last_changed: date | None
    related: tuple[PageLink, ...]


@dataclass(frozen=True)
class TeamSection:
    """A team on the index: what it handles, how to reach it, who is on call, its pages."""

    team: Team
    lead: Contact | None
    oncall: tuple[OnCall, ...]
    catalog: CatalogFile | None
    pagerduty: str | None
    """How the catalog says to page the team through PagerDuty, when it says."""
    pipelines: tuple[PipelinePage, ...]
    services: tuple[ServicePage, ...]


@dataclass(frozen=True)
class TeamGroup:
    """Teams of one larger organisation (``Team.group``); the name is empty for teams without one."""

    name: str
    teams: tuple[TeamSection, ...]


@dataclass(frozen=True)
class Site:
    """Everything the templates render."""

    org_name: str
    rendered_at: datetime
    default_team: TeamSection | None
    """Whose on-call takes what matches no pipeline: where a new hire asks when unsure."""
    groups: tuple[TeamGroup, ...]
    pipelines: tuple[PipelinePage, ...]
    services: tuple[ServicePage, ...]
    links: tuple[PageLink, ...]
    """Every page but the index, pipelines first, in file order."""
    tiers: Mapping[str, TierPolicy]
    note_pages: Mapping[str, str]
    """Notes path → page stem, so that links between notes can point at the rendered pages."""
    health: HealthPage | None = None
    """The on-call health page, when the site is rendered with the alert router's database."""

    @functools.cached_property
    def teams(self) -> tuple[TeamSection, ...]:
        return tuple(section for group in self.groups for section in group.teams)

    @functools.cached_property
    def valid_until(self) -> datetime | None:  # every page asks: worked out once
        """The first moment an on-call answer shown on the site changes."""
        ends = [row.until for section in self.teams for row in section.oncall if row.until is not None]
        return min(ends) if ends else None


class _Builder:
    """Builds the pages of one org at one instant, computing each on-call answer once."""

    def __init__(self, org: Org, engine: Engine, instant: datetime) -> None:
        self.org = org
        self.engine = engine
        self.instant = instant
        self._contacts: dict[str, Contact] = {}
        self.oncall_by_team: dict[str, list[OnCall]] = {}
        for row in answers(org, engine, instant):
            self.oncall_by_team.setdefault(row["team"], []).append(self._oncall(row))

    def maybe(self, person_id: str | None) -> Contact | None:
        return None if person_id is None else self.contact(person_id)

    def contact(self, person_id: str) -> Contact:
        found = self._contacts.get(person_id)
        if found is None:
            person = self.org.people.get(person_id)
            away = absence_reason(self.engine, person_id, self.instant)
            if person is None:
                found = Contact(person_id, person_id, away=away)
            else:
                found = Contact(person.id, person.name, person.email, person.phone, person.slack_id, person.timezone, away=away)
            self._contacts[person_id] = found
        return found

    def _oncall(self, row: dict[str, Any]) -> OnCall:
        rotation = self.org.rotations[row["rotation"]]
        return OnCall(
            rotation=rotation.id,
            rotation_name=rotation.title,
            team=rotation.team,
            timezone=rotation.timezone,
            primary=self.maybe(row["primary"] and row["primary"]["id"]),
            secondary=self.maybe(row["secondary"] and row["secondary"]["id"]),
            until=datetime.fromisoformat(row["end"]).astimezone(ZoneInfo(rotation.timezone)) if row["end"] else None,
            reduced=row["reduced"],
            notes=tuple(row.get("brief") or row["reasons"]),
        )

    def escalation(self, pipeline: Pipeline) -> tuple[tuple[EscalationRow, ...], bool]:
        chain = escalation_chain(self.org, self.engine, self.instant, pipeline)
        rows: list[EscalationRow] = []
        clock = timedelta(0)
        for step in chain.steps:
            rows.append(
                EscalationRow(step.role_words, self.maybe(step.person), step.delay, clock if step.paged else None, step.skipped)
            )
            if step.paged:
                clock += step.delay
        return tuple(rows), chain.page_now


def with_freshness(site: Site, freshness: Mapping[str, Freshness]) -> Site:
    """``site`` with each pipeline page's :class:`Freshness` (pipeline id → what the router heard)."""
    from dataclasses import replace

    pages = tuple(replace(page, freshness=freshness.get(page.pipeline.id)) for page in site.pipelines)
    return replace(site, pipelines=pages)


def build_site(
    org: Org,
    engine: Engine,
    instant: datetime,
    *,
    notes: Mapping[str, str],
    changed: Mapping[str, date],
) -> Site:
    """The pages of ``org`` as they stand at ``instant``.

    ``notes``: repository path → text of the notes that exist (see :func:`note_paths`);
    ``changed``: page stem → the date it last changed (empty when git is not available).
    """
    builder = _Builder(org, engine, instant)
    paths = note_paths(org)

    def note(stem: str) -> Note | None:
        path = paths.get(stem)
        return Note(path, notes[path]) if path is not None and path in notes else None

    links_by_team: dict[str, list[PageLink]] = {}
    pipeline_links: list[PageLink] = []
    for pipeline in org.pipelines.values():
        team = org.teams[pipeline.team]
        owners = (builder.contact(pipeline.primary).name, builder.contact(pipeline.secondary).name)
        link = PageLink(pipeline_stem(pipeline.id), pipeline.name, "pipeline", team.id, team.name, owners, pipeline.tier)
        pipeline_links.append(link)
        links_by_team.setdefault(team.id, []).append(link)
    service_links: list[PageLink] = []
    catalog_of: dict[str, CatalogFile] = {}
    for catalog in org.catalogs:
        team = org.teams[catalog.team]
        lead = builder.maybe(team.lead)
        for service in catalog.services:
            catalog_of[service.id] = catalog
            link = PageLink(
                service_stem(service.id),
                service.name,
                "service",
                team.id,
                team.name,
                (team.name, lead.name) if lead else (team.name,),
                f"responds within {format_duration(service.sla.response)}",
            )
            service_links.append(link)
            links_by_team.setdefault(team.id, []).append(link)

    def related(team_id: str, stem: str) -> tuple[PageLink, ...]:
        return tuple(link for link in links_by_team.get(team_id, []) if link.stem != stem)

    pipeline_pages = []
    for pipeline in org.pipelines.values():
        team = org.teams[pipeline.team]
        stem = pipeline_stem(pipeline.id)
        escalation, page_now = builder.escalation(pipeline)
        pipeline_pages.append(
            PipelinePage(
                stem=stem,
                title=pipeline.name,
                pipeline=pipeline,
                team=team,
                tier=tier_policy(org, pipeline),
                primary=builder.contact(pipeline.primary),
                secondary=builder.contact(pipeline.secondary),
                lead=builder.maybe(team.lead),
                slack_channel=pipeline.slack_channel or team.slack_channel,
                escalation=escalation,
                page_now=page_now,
                oncall=tuple(builder.oncall_by_team.get(team.id, ())),
                notes=note(stem),
                last_changed=changed.get(stem),
                related=related(team.id, stem),
            )
        )

    service_pages = []
    for service in org.services():
        catalog = catalog_of[service.id]
        team = org.teams[catalog.team]
        stem = service_stem(service.id)
        oncall = tuple(builder.oncall_by_team.get(team.id, ()))
        steps = tuple(
            ServiceStep(step, builder.maybe(step.person), next((row for row in oncall if row.rotation == step.rotation), None))
            for step in catalog.escalation
        )
        service_pages.append(
            ServicePage(
                stem=stem,
                title=service.name,
                service=service,
                catalog=catalog,
                team=team,
                lead=builder.maybe(team.lead),
                stakeholders=service.stakeholders or catalog.stakeholders,
                escalation=steps,
                oncall=oncall,
                notes=note(stem),
                last_changed=changed.get(stem),
                related=related(team.id, stem),
            )
        )

    catalogs = {catalog.team: catalog for catalog in org.catalogs}
    pipelines_of: dict[str, list[PipelinePage]] = {}
    for pipeline_page in pipeline_pages:
        pipelines_of.setdefault(pipeline_page.team.id, []).append(pipeline_page)
    services_of: dict[str, list[ServicePage]] = {}
    for service_page in service_pages:
        services_of.setdefault(service_page.team.id, []).append(service_page)
    sections: dict[str, TeamSection] = {}
    for team in org.teams.values():
        offered = catalogs.get(team.id)
        sections[team.id] = TeamSection(
            team=team,
            lead=builder.maybe(team.lead),
            oncall=tuple(builder.oncall_by_team.get(team.id, ())),
            catalog=offered,
            pagerduty=_pagerduty(offered),
            pipelines=tuple(pipelines_of.get(team.id, ())),
            services=tuple(services_of.get(team.id, ())),
        )
    groups: dict[str, list[TeamSection]] = {}
    for section in sections.values():
        groups.setdefault(section.team.group or "", []).append(section)

    return Site(
        org_name=org.settings.org_name,
        rendered_at=instant,
        default_team=sections.get(org.settings.default_team or ""),
        groups=tuple(TeamGroup(name, tuple(members)) for name, members in groups.items()),
        pipelines=tuple(pipeline_pages),
        services=tuple(service_pages),
        links=(*pipeline_links, *service_links),
        tiers=org.settings.tiers,
        note_pages={path: stem for stem, path in paths.items()},
    )


def _pagerduty(catalog: CatalogFile | None) -> str | None:
    """The catalog's own words on paging the team: a PagerDuty intake channel, else the first step that names PagerDuty."""
    if catalog is None:
        return None
    for channel in catalog.intake:
        if channel.kind == "pagerduty":
            return channel.target
    for step in catalog.escalation:
        if "pagerduty" in step.how.lower():
            return step.how
    return None
