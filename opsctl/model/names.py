"""The names opsctl gives what it makes in PagerDuty and Slack, as patterns in settings.

A pattern is text with fields in braces, such as ``{team}-oncall`` or ``Data · {pipeline_name}
({pipeline})``. Each setting has its own fields (:data:`SERVICE_FIELDS` and the like) and
names at least one field that tells its objects apart, so that two of them never get the
same name. :class:`NamePattern` is the ``Annotated`` marker of such a setting: the loader
reports a pattern with an unknown field, or a handle Slack would refuse, at its line and
column, and the JSON Schema carries the same rule as a regular expression.

:func:`service_name`, :func:`team_service_name`, :func:`schedule_name` and
:func:`usergroup_names` fill the patterns for one object: the one place the sync desired
states and ``opsctl validate`` (two objects named alike) take names from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opsctl.model.spelling import Spelled, did_you_mean

if TYPE_CHECKING:
    from opsctl.model import Org, Pipeline, Rotation, Team

_FIELD = re.compile(r"\{([^{}]*)\}")

SERVICE_FIELDS = ("pipeline", "pipeline_name", "team", "team_name", "tier")
"""Fields of ``settings.pagerduty.service_name``: the pipeline's id and name, its team's, its tier."""
TEAM_SERVICE_FIELDS = ("team", "team_name")
"""Fields of ``settings.pagerduty.team_service_name``."""
SCHEDULE_FIELDS = ("rotation", "rotation_name", "team", "team_name", "role")
"""Fields of ``settings.pagerduty.schedule_name``: the rotation's id and name (its id when it has
none), its team's, and the role (``primary`` or ``secondary``)."""
HANDLE_FIELDS = ("team",)
"""Fields of ``settings.slack.usergroup_handle``: team ids are spelled as handles are."""
USERGROUP_NAME_FIELDS = ("team", "team_name")
"""Fields of ``settings.slack.usergroup_name``."""

HANDLE_CHARACTERS = "a-z0-9._-"
"""What a Slack mention handle is made of: lower-case letters, digits, periods, hyphens and
underscores, as Slack spells user names (a handle shares their namespace); others make
``usergroups.create`` answer ``bad_handle``."""


def fill(pattern: str, values: Mapping[str, str]) -> str:
    """``pattern`` with each ``{field}`` replaced by its value (the pattern was checked: every field is known)."""
    return _FIELD.sub(lambda m: values[m.group(1)], pattern)


Needs = tuple[tuple[str, ...], ...]
"""Groups of fields a pattern must name one of each: what tells its objects apart."""


def pattern_problem(pattern: str, fields: tuple[str, ...], needs: Needs, literal: str | None = None) -> str | None:
    """Why ``pattern`` is no pattern of ``fields`` naming one field of each group of ``needs``, or None.

    ``literal`` is the class of characters (as in a regular expression) the text outside
    the fields may use; None: any but braces.
    """
    named = []
    for match in _FIELD.finditer(pattern):
        name = match.group(1)
        if name not in fields:
            listed = ", ".join(f"{{{f}}}" for f in fields)
            return f"{pattern!r} names an unknown field {{{name}}}{did_you_mean(name, fields)}; its fields are {listed}"
        named.append(name)
    rest = _FIELD.sub("", pattern)
    if "{" in rest or "}" in rest:
        return f"{pattern!r} has a brace that opens or closes no field: write fields as {{{fields[0]}}}"
    if literal is not None:
        wrong = sorted(set(re.sub(f"[{literal}]", "", rest)))
        if wrong:
            shown = " ".join(repr(ch) for ch in wrong)
            return (
                f"{pattern!r} would make handles Slack refuses (bad_handle): {shown} cannot be in a handle, "
                "which takes lower-case letters, digits, '.', '-' and '_'"
            )
    for group in needs:
        if not set(named) & set(group):
            which = " or ".join(f"{{{f}}}" for f in group)
            return f"{pattern!r} names no {which}, so two objects would get the same name: add it"
    return None


class NamePattern(Spelled):
    """The ``Annotated`` marker of a name pattern with ``fields`` and one field of each group of ``needs``."""

    def __init__(self, fields: tuple[str, ...], needs: Needs, *, literal: str | None = None, example: str) -> None:
        self.fields = fields
        self.needs = needs
        self.literal = literal
        outside = f"[{literal}]" if literal is not None else "[^{}]"
        field = "|".join(fields)
        ahead = "".join(f"(?=.*\\{{({'|'.join(group)})\\}})" for group in needs)
        super().__init__(
            {
                "type": "string",
                "pattern": f"^{ahead}({outside}|\\{{({field})\\}})+$",
                "examples": [example],
            },
            what="a name pattern",
            check=self._problem,
        )

    def _problem(self, value: str) -> str | None:
        return pattern_problem(value, self.fields, self.needs, self.literal)


SERVICE_NAME = NamePattern(SERVICE_FIELDS, (("pipeline", "pipeline_name"),), example="Data · {pipeline_name} ({pipeline})")
TEAM_SERVICE_NAME = NamePattern(TEAM_SERVICE_FIELDS, (("team", "team_name"),), example="Data · {team_name} on-call ({team})")
SCHEDULE_NAME = NamePattern(
    SCHEDULE_FIELDS, (("rotation", "rotation_name"), ("role",)), example="Data · {rotation_name} · {role}"
)
USERGROUP_HANDLE = NamePattern(HANDLE_FIELDS, (("team",),), literal=HANDLE_CHARACTERS, example="{team}-oncall")
USERGROUP_NAME = NamePattern(USERGROUP_NAME_FIELDS, (("team", "team_name"),), example="{team_name} on-call")


# -- the names of what sync makes ------------------------------------------------------


def service_name(org: Org, pipeline: Pipeline) -> str:
    """The name of ``pipeline``'s service: ``settings.pagerduty.name_prefix`` and ``service_name``."""
    team = org.teams[pipeline.team]
    values = {"pipeline": pipeline.id, "pipeline_name": pipeline.name, "team": team.id, "team_name": team.name}
    settings = org.settings.pagerduty
    return settings.name_prefix + fill(settings.service_name, values | {"tier": pipeline.tier})


def team_service_name(org: Org, team: Team) -> str:
    """The name of ``team``'s service: ``settings.pagerduty.name_prefix`` and ``team_service_name``."""
    settings = org.settings.pagerduty
    return settings.name_prefix + fill(settings.team_service_name, {"team": team.id, "team_name": team.name})


def schedule_name(org: Org, rotation: Rotation, role: str) -> str:
    """The name of ``rotation``'s schedule of ``role``: ``settings.pagerduty.name_prefix`` and ``schedule_name``."""
    team = org.teams[rotation.team]
    values = {"rotation": rotation.id, "rotation_name": rotation.title, "team": team.id, "team_name": team.name, "role": role}
    settings = org.settings.pagerduty
    return settings.name_prefix + fill(settings.schedule_name, values)


def usergroup_names(org: Org, team: Team) -> tuple[str, str]:
    """The handle and the name of ``team``'s on-call group (``settings.slack``)."""
    values = {"team": team.id, "team_name": team.name}
    return fill(org.settings.slack.usergroup_handle, values), fill(org.settings.slack.usergroup_name, values)
