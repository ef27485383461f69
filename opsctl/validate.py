"""`opsctl validate`: every problem in an ops repository, at once.

The loader's findings (syntax, types, unknown keys, references) come first; then the
org's own rules and advice: team leads, the bus factor, holiday countries, placeholders,
and, from the schedule engine, on-call coverage and time off nobody can cover.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from opsctl.engine.holidays import HolidayCalendar
from opsctl.model import Org
from opsctl.model.findings import Finding, error, sorted_findings, warning
from opsctl.model.locations import Location
from opsctl.model.names import schedule_name, service_name, team_service_name, usergroup_names
from opsctl.model.spelling import did_you_mean
from opsctl.repo.loader import RUNBOOKS_DIR, LoadResult, RepoFiles
from opsctl.repo.placeholders import markdown_empty_sections, markers_in_text

LEAD_REQUIRED_FROM = 3
"""Teams of this many members or more must name a lead (the org's rule)."""


def validate(result: LoadResult, *, now: datetime, holidays: HolidayCalendar, cache: Path | None = None) -> list[Finding]:
    """All findings for a loaded repository, in file order; ``cache`` keeps compiled templates between runs."""
    findings = list(result.findings)
    org = result.org
    findings.extend(check_leads(org))
    findings.extend(check_bus_factor(org))
    findings.extend(check_countries(org, holidays))
    findings.extend(check_names(org))
    findings.extend(check_freshness(org))
    findings.extend(check_placeholders(result))
    from opsctl.runbooks.check import check_runbooks

    findings.extend(check_runbooks(result, now=now, holidays=holidays, cache=cache))
    if result.ok:
        # The schedule checks need a computable org; with errors they would only echo them.
        from opsctl.engine.coverage import check_schedule

        findings.extend(check_schedule(org, now=now, holidays=holidays))
    return sorted_findings(_without_echoes(findings))


def _without_echoes(findings: list[Finding]) -> list[Finding]:
    """Drop a warning on a line that already has an error: the error says more."""
    error_lines = {(f.location.path, f.location.line) for f in findings if f.is_error and f.location}
    return [f for f in findings if f.is_error or f.location is None or (f.location.path, f.location.line) not in error_lines]


def check_leads(org: Org) -> Iterator[Finding]:
    for team in org.teams.values():
        if len(team.members) >= LEAD_REQUIRED_FROM and team.lead is None:
            yield error(
                f"team {team.id!r} has {len(team.members)} members but no lead",
                org.sources.of(team, "id"),
                hint=f"teams of {LEAD_REQUIRED_FROM} or more name a lead: add `lead: <person id>`",
                code="missing-lead",
            )


def check_bus_factor(org: Org) -> Iterator[Finding]:
    """A person who is primary owner of more than half of a team's pipelines (teams with 2+)."""
    by_team: dict[str, list[str]] = {}
    for pipeline in org.pipelines.values():
        by_team.setdefault(pipeline.team, []).append(pipeline.primary)
    for team_id, primaries in by_team.items():
        if len(primaries) < 2:
            continue
        for person, count in Counter(primaries).items():
            if count * 2 > len(primaries):
                first = next(p for p in org.pipelines.values() if p.team == team_id and p.primary == person)
                yield warning(
                    f"bus factor: {person!r} is primary owner of {count} of the {len(primaries)} pipelines of team {team_id!r}",
                    org.sources.of(first, "primary"),
                    hint="spread primary ownership so that one absence does not leave most pipelines with their secondary",
                    code="bus-factor",
                )


def check_freshness(org: Org) -> Iterator[Finding]:
    """Freshness SLAs the router's watchdog can keep, and pipelines it can hear from."""
    from opsctl.model.spelling import format_duration

    for pipeline in org.pipelines.values():
        sla = pipeline.freshness_sla
        if sla <= timedelta(0):
            yield error(
                "freshness_sla must be longer than 0",
                org.sources.of(pipeline, "freshness_sla"),
                hint="how old its newest data may get, e.g. 4h",
                code="invalid-value",
            )
        grace = pipeline.freshness_grace
        if grace is not None and sla > timedelta(0) and grace > sla:
            yield warning(
                f"freshness_grace {format_duration(grace)} is longer than the freshness SLA {format_duration(sla)}: "
                f"the pipeline is paged as stale only after {format_duration(sla + grace)} without a success",
                org.sources.of(pipeline, "freshness_grace"),
                code="long-grace",
            )
        found = pipeline.alerts
        if not (found.dag_ids or found.labels or found.dbt_job_ids or found.expectation_suites or found.aliases):
            yield warning(
                f"pipeline {pipeline.id!r} has no alert identifiers: its sources cannot report its failures or successful runs",
                org.sources.of(pipeline, "id"),
                hint="list its dag_ids, dbt_job_ids, expectation_suites, labels or aliases under `alerts:`, "
                f"or send heartbeats (POST /v1/heartbeats/{pipeline.id})",
                code="unheard-pipeline",
            )


def check_countries(org: Org, holidays: HolidayCalendar) -> Iterator[Finding]:
    """Countries and subdivisions must be known to the holiday library."""
    supported: dict[str, list[str]] | None = None
    for person in org.people.values():
        if person.country is None:
            if person.subdivision is not None:
                yield error("a subdivision needs a country", org.sources.of(person, "subdivision"), code="invalid-value")
            continue
        if supported is None:
            supported = holidays.supported()
        if person.country not in supported:
            yield error(
                f"unknown country code {person.country!r}{did_you_mean(person.country, supported)}",
                org.sources.of(person, "country"),
                hint="use an ISO 3166-1 alpha-2 code such as DE, US or IN",
                code="invalid-country",
            )
        elif person.subdivision is not None and person.subdivision not in supported[person.country]:
            subdivisions = supported[person.country]
            yield error(
                f"unknown subdivision {person.subdivision!r} of {person.country}{did_you_mean(person.subdivision, subdivisions)}",
                org.sources.of(person, "subdivision"),
                hint=f"{person.country} subdivisions: {', '.join(subdivisions[:12])}{', …' if len(subdivisions) > 12 else ''}",
                code="invalid-country",
            )


def check_names(org: Org) -> Iterator[Finding]:
    """Two objects sync would give the same name, case aside (from the naming settings): sync
    makes the first, and PagerDuty or Slack would refuse the second on every run."""
    pd, sl = org.settings.pagerduty, org.settings.slack
    with_rotations = [t for t in org.teams.values() if org.rotations_of(t.id)]
    services: list[tuple[str, str, object, str]] = [
        (team_service_name(org, t), f"team {t.id}", t, "team_service_name") for t in org.teams.values()
    ]
    if pd.service_per == "pipeline":
        services += [
            (service_name(org, p), f"pipeline {p.id}", p, "service_name") for p in org.pipelines.values() if p.team in org.teams
        ]
    schedules = [
        (schedule_name(org, r, role), f"rotation {r.id} ({role})", r, "schedule_name")
        for r in org.rotations.values()
        if r.team in org.teams  # an unknown team is an error of its own
        for role in ("primary", "secondary")[: r.depth]
    ]
    handles = [(usergroup_names(org, t)[0], f"team {t.id}", t, "usergroup_handle") for t in with_rotations]
    names = [(usergroup_names(org, t)[1], f"team {t.id}", t, "usergroup_name") for t in with_rotations]
    for service, kind, named, settings in (
        ("PagerDuty", "service", services, pd),
        ("PagerDuty", "schedule", schedules, pd),
        ("Slack", "user group handle", handles, sl),
        ("Slack", "user group name", names, sl),
    ):
        seen: dict[str, str] = {}
        for name, who, obj, setting in named:
            first = seen.setdefault(name.casefold(), who)
            if first == who:
                continue
            section = "pagerduty" if service == "PagerDuty" else "slack"
            yield error(
                f"settings.{section}.{setting} gives {first} and {who} the same {kind} {name!r}: "
                f"{service} names must differ whatever their case, so sync would make only the first",
                _written(org, settings, setting) or org.sources.of(obj, "name"),
                hint="put the id in the pattern ({team}, {pipeline}, {rotation}), or rename one of them",
                code="duplicate-name",
            )


def _written(org: Org, obj: object, field: str) -> Location | None:
    """Where ``obj``'s ``field`` is written, or None when it takes its default."""
    found = org.sources.of(obj, field)
    return found if found is not None and found != org.sources.of(obj) else None


def check_placeholders(result: LoadResult) -> Iterator[Finding]:
    files = result.files
    yield from result.placeholders  # the YAML files', found while loading them
    if files is None:
        return
    for path in files.list_files(RUNBOOKS_DIR, RUNBOOK_SUFFIXES, recursive=True):
        text = _text(files, path)
        if text is not None:
            result.org.sources.add_text(path, text)  # so findings can quote the line
            yield from markers_in_text(path, text)
            if path.endswith((".md", ".markdown")):
                yield from markdown_empty_sections(path, text)


RUNBOOK_SUFFIXES = (".md", ".markdown", ".j2", ".jinja", ".html")
"""Notes and templates under runbooks/ that are scanned for placeholders."""


def _text(files: RepoFiles | None, path: str) -> str | None:
    if files is None:
        return None
    raw = files.read(path)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
