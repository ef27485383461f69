"""Checks every command relies on: ids are unique and every reference resolves.

Run by the loader, so a repository with an unknown person or a rotation that cannot be
computed never reaches the engine. The slower, advisory checks (coverage, placeholders,
bus factor, holidays) live in :mod:`opsctl.validate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from opsctl.model import Org, Rotation
from opsctl.model.findings import Finding, error
from opsctl.model.locations import SourceMap
from opsctl.model.spelling import did_you_mean

if TYPE_CHECKING:
    from opsctl.repo.loader import RepoFiles

T = TypeVar("T")
MIN_SHIFT = timedelta(hours=1)


def unique_by_id(kind: str, items: Iterable[T], sources: SourceMap, findings: list[Finding]) -> dict[str, T]:
    """Index ``items`` by id; a repeated id is an error pointing at both places."""
    out: dict[str, T] = {}
    for item in items:
        key: str = getattr(item, "id")  # noqa: B009 - every entity here has an id
        if key in out:
            first = sources.of(out[key], "id")
            findings.append(
                error(
                    f"duplicate {kind} id {key!r}" + (f" (first defined at {first})" if first else ""),
                    sources.of(item, "id"),
                    code="duplicate-id",
                )
            )
            continue
        out[key] = item
    return out


class _Refs:
    """Reference checks with did-you-mean, quiet about ids already reported as broken."""

    def __init__(self, org: Org, broken: set[str]) -> None:
        self.org = org
        self.sources = org.sources
        self.broken = broken
        self.findings: list[Finding] = []

    def fail(self, obj: object, path: Sequence[str | int], message: str, *, hint: str = "", code: str = "") -> None:
        self.findings.append(error(message, self.sources.of(obj, *path), hint=hint, code=code))

    def known(self, kind: str, table: dict[str, Any], value: str | None, obj: object, *path: str | int) -> bool:
        if value is None or value in table:
            return True
        if value not in self.broken:
            self.fail(obj, path, f"unknown {kind} {value!r}{did_you_mean(value, table)}", code="unknown-reference")
        return False

    def person(self, value: str | None, obj: object, *path: str | int) -> bool:
        return self.known("person", self.org.people, value, obj, *path)

    def team(self, value: str | None, obj: object, *path: str | int) -> bool:
        return self.known("team", self.org.teams, value, obj, *path)

    def roster(self, members: Sequence[str], team_id: str, obj: object, *path: str | int) -> None:
        """Members of a rotation roster: known, distinct, members of the team."""
        team = self.org.teams.get(team_id)
        seen: set[str] = set()
        for i, member in enumerate(members):
            if member in seen:
                self.fail(obj, (*path, i), f"{member!r} is listed twice in the roster", code="duplicate-member")
                continue
            seen.add(member)
            if self.person(member, obj, *path, i) and team is not None and member not in team.members:
                self.fail(
                    obj,
                    (*path, i),
                    f"rotation member {member!r} is not a member of team {team.id!r}",
                    hint=f"add {member!r} to the members of team {team.id!r} in ownership.yaml",
                    code="member-outside-team",
                )


def check(org: Org, files: RepoFiles, broken: set[str], *, catalog: bool = True) -> list[Finding]:
    """Reference findings for ``org``; ``files`` answers whether runbook files exist."""
    refs = _Refs(org, broken)
    settings = org.settings
    if settings.default_team is not None:
        refs.team(settings.default_team, settings, "default_team")
    _check_teams(org, refs)
    _check_pipelines(org, refs)
    for rotation in org.rotations.values():
        _check_rotation(rotation, refs)
    _check_time_off(org, refs)
    _check_overrides(org, refs)
    if catalog:
        _check_catalogs(org, files, refs)
    return refs.findings


def _check_teams(org: Org, refs: _Refs) -> None:
    for team in org.teams.values():
        seen: set[str] = set()
        for i, member in enumerate(team.members):
            if member in seen:
                refs.fail(team, ("members", i), f"{member!r} is listed twice in team {team.id!r}", code="duplicate-member")
            seen.add(member)
            refs.person(member, team, "members", i)
        if not team.members:
            refs.fail(team, ("members",), f"team {team.id!r} has no members", code="empty-team")
        refs.person(team.lead, team, "lead")


def _check_pipelines(org: Org, refs: _Refs) -> None:
    tiers = org.settings.tiers
    for pipeline in org.pipelines.values():
        team_ok = refs.team(pipeline.team, pipeline, "team")
        owners_ok = refs.person(pipeline.primary, pipeline, "primary")
        owners_ok = refs.person(pipeline.secondary, pipeline, "secondary") and owners_ok
        if pipeline.primary == pipeline.secondary:
            refs.fail(
                pipeline,
                ("secondary",),
                f"pipeline {pipeline.id!r} has {pipeline.primary!r} as both primary and secondary owner",
                hint="the secondary owner must be somebody else, so that an absence never leaves the pipeline unowned",
                code="same-owner",
            )
        if team_ok and owners_ok:
            team = org.teams[pipeline.team]
            for role in ("primary", "secondary"):
                person = getattr(pipeline, role)
                if person not in team.members:
                    refs.fail(
                        pipeline,
                        (role,),
                        f"{role} owner {person!r} is not a member of team {team.id!r}",
                        hint=f"owners must belong to the pipeline's team; members: {', '.join(team.members)}",
                        code="owner-outside-team",
                    )
        if pipeline.tier not in tiers:
            refs.fail(
                pipeline,
                ("tier",),
                f"unknown tier {pipeline.tier!r}{did_you_mean(pipeline.tier, tiers)}",
                hint=f"tiers: {', '.join(tiers)} (add more under settings.tiers)",
                code="unknown-tier",
            )


def _check_rotation(rotation: Rotation, refs: _Refs) -> None:
    from opsctl.model.shifts import ShiftGrid

    refs.team(rotation.team, rotation, "team")
    if not rotation.members:
        refs.fail(rotation, ("members",), f"rotation {rotation.id!r} has no members", code="empty-rotation")
    refs.roster(rotation.members, rotation.team, rotation, "members")
    if rotation.shift < MIN_SHIFT:
        refs.fail(rotation, ("shift",), f"shift length must be at least 1h, got {rotation.shift}", code="invalid-value")
        return
    rosters = [rotation.members]
    grid = ShiftGrid.of(rotation)
    previous: int = 0
    for change in rotation.roster_changes:
        refs.roster(change.members, rotation.team, change, "members")
        if not change.members:
            refs.fail(change, ("members",), "a roster change needs at least one member", code="empty-rotation")
        if change.first is not None and change.first not in change.members:
            refs.fail(change, ("first",), f"{change.first!r} is not on the new roster", code="unknown-reference")
        wall = grid.to_wall(change.effective)
        index = grid.index_of_wall(wall)
        if index is None or index == 0:
            where = "not after the rotation's start" if wall <= grid.start else "not at a handoff"
            refs.fail(
                change,
                ("effective",),
                f"roster change at {_show(change.effective)} is {where}",
                hint=f"use a shift boundary after {rotation.start}: the rotation hands off every "
                f"{_show_duration(rotation.shift)} at {rotation.handoff:%H:%M} {rotation.timezone}",
                code="roster-change-not-on-handoff",
            )
        elif index <= previous:
            refs.fail(change, ("effective",), "roster changes must be in date order", code="roster-change-order")
        else:
            previous = index
        rosters.append(change.members)
    if rotation.depth == 2:
        for roster, obj in zip(rosters, (rotation, *rotation.roster_changes), strict=True):
            if 0 < len(roster) < 2:
                refs.fail(obj, ("members",), "a rotation of depth 2 needs at least two members", code="depth-too-deep")


def _check_time_off(org: Org, refs: _Refs) -> None:
    for entry in org.time_off:
        refs.person(entry.person, entry, "person")
        if _ends_before(entry.start, entry.end, inclusive=True):
            refs.fail(
                entry,
                ("end",),
                f"time off ends ({_show(entry.end)}) before it starts ({_show(entry.start)})",
                code="ends-before-start",
            )


def _check_overrides(org: Org, refs: _Refs) -> None:
    for override in org.overrides:
        rotation_ok = refs.known("rotation", org.rotations, override.rotation, override, "rotation")
        refs.person(override.person, override, "person")
        if _ends_before(override.start, override.end, inclusive=not isinstance(override.end, datetime)):
            refs.fail(
                override,
                ("end",),
                f"override ends ({_show(override.end)}) before it starts ({_show(override.start)})",
                code="ends-before-start",
            )
        if rotation_ok and override.role == "secondary" and org.rotations[override.rotation].depth < 2:
            refs.fail(
                override,
                ("role",),
                f"rotation {override.rotation!r} has no secondary (depth 1)",
                hint="set depth: 2 on the rotation, or override the primary",
                code="invalid-value",
            )


def _check_catalogs(org: Org, files: RepoFiles, refs: _Refs) -> None:
    seen_teams: dict[str, object] = {}
    services: dict[str, object] = {}
    for entry in org.catalogs:
        if refs.team(entry.team, entry, "team"):
            if entry.team in seen_teams:
                first = refs.sources.of(seen_teams[entry.team])
                refs.fail(
                    entry,
                    ("team",),
                    f"team {entry.team!r} already has a catalog file ({first.path if first else 'above'})",
                    code="duplicate-id",
                )
            seen_teams[entry.team] = entry
        for step in entry.escalation:
            refs.person(step.person, step, "person")
            refs.known("rotation", org.rotations, step.rotation, step, "rotation")
        for service in entry.services:
            if service.id in services:
                first = refs.sources.of(services[service.id], "id")
                refs.fail(
                    service,
                    ("id",),
                    f"duplicate service id {service.id!r}" + (f" (first defined at {first})" if first else ""),
                    code="duplicate-id",
                )
            services[service.id] = service
            if not service.runbook:
                refs.fail(
                    service,
                    ("id",),
                    f"service {service.id!r} has no runbook",
                    hint=f"write runbooks/services/{service.id}.md and set `runbook: runbooks/services/{service.id}.md`",
                    code="missing-runbook",
                )
            elif not files.exists(service.runbook):
                refs.fail(service, ("runbook",), f"runbook {service.runbook!r} does not exist", code="missing-runbook")


def _ends_before(start: date | datetime, end: date | datetime, *, inclusive: bool) -> bool:
    """Whether ``end`` is before ``start``; dates compare as whole days (included when ``inclusive``)."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        if (start.tzinfo is None) != (end.tzinfo is None):
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
        return end < start if inclusive else end <= start
    start_day = start.date() if isinstance(start, datetime) else start
    end_day = end.date() if isinstance(end, datetime) else end
    return end_day < start_day if inclusive else end_day <= start_day


def _show(value: date | datetime) -> str:
    return value.isoformat()


def _show_duration(value: timedelta) -> str:
    from opsctl.model.spelling import format_duration

    return format_duration(value)
