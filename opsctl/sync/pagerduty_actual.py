"""What a PagerDuty account holds, read through the REST API: the only reads of a sync.

:func:`fetch_actual` reads users, schedules (with layers), the overrides of the managed
schedules within the horizon (read whole, with ``overflow=true``), escalation policies and
services (with integrations): a handful of paginated lists plus one read per managed
schedule. The values keep what
the diff compares, with times as UTC instants and references as PagerDuty ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsctl.sync.marker import read_marker
from opsctl.sync.pagerduty_desired import INTEGRATION_NAME, PagerDutyDesired
from opsctl.sync.pagerduty_overrides import Restriction
from opsctl.sync.progress import QUIET, Progress

if TYPE_CHECKING:
    from pagerduty import RestApiV2Client

INTEGRATION_TYPE = "events_api_v2_inbound_integration"


@dataclass(frozen=True)
class RemoteUser:
    id: str
    name: str
    email: str


@dataclass(frozen=True)
class RemoteLayer:
    name: str
    start: datetime
    end: datetime | None
    virtual_start: datetime
    turn_seconds: int
    users: tuple[str, ...]
    restrictions: tuple[str, ...]


@dataclass(frozen=True)
class RemoteOverride:
    id: str
    start: datetime
    end: datetime
    user: str


@dataclass(frozen=True)
class RemoteSchedule:
    id: str
    name: str
    description: str
    time_zone: str
    layers: tuple[RemoteLayer, ...]
    overrides: tuple[RemoteOverride, ...] = ()
    """Within the horizon; read for managed schedules only."""


@dataclass(frozen=True)
class RemoteRule:
    delay_minutes: int
    targets: tuple[tuple[str, str], ...]
    """(type without ``_reference``, id)."""


@dataclass(frozen=True)
class RemotePolicy:
    id: str
    name: str
    description: str
    rules: tuple[RemoteRule, ...]


@dataclass(frozen=True)
class RemoteIntegration:
    id: str
    type: str
    name: str
    key: str | None


@dataclass(frozen=True)
class RemoteService:
    id: str
    name: str
    description: str
    policy_id: str
    urgency: str
    integrations: tuple[RemoteIntegration, ...]


@dataclass(frozen=True)
class PagerDutyActual:
    users: tuple[RemoteUser, ...]
    schedules: tuple[RemoteSchedule, ...]
    policies: tuple[RemotePolicy, ...]
    services: tuple[RemoteService, ...]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def pd_time(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _restriction_text(raw: dict[str, Any]) -> str:
    clock = str(raw.get("start_time_of_day", "00:00:00"))
    seconds = int(raw.get("duration_seconds", 0))
    if raw.get("type") == "weekly_restriction":
        return Restriction(int(raw.get("start_day_of_week", 1)), datetime.strptime(clock, "%H:%M:%S").time(), seconds).text()
    hours, rest = divmod(seconds, 3600)
    return f"daily {clock[:5]} for {hours}h" + (f"{rest // 60}m" if rest else "")


def _remote_schedule(raw: dict[str, Any], overrides: Iterable[dict[str, Any]] = ()) -> RemoteSchedule:
    layers = tuple(
        RemoteLayer(
            str(layer.get("name") or ""),
            parse_time(layer["start"]),
            parse_time(layer["end"]) if layer.get("end") else None,
            parse_time(layer["rotation_virtual_start"]),
            int(layer["rotation_turn_length_seconds"]),
            tuple(str(entry["user"]["id"]) for entry in layer.get("users") or []),
            tuple(_restriction_text(r) for r in layer.get("restrictions") or []),
        )
        for layer in raw.get("schedule_layers") or []
    )
    return RemoteSchedule(
        str(raw["id"]),
        str(raw.get("name") or ""),
        str(raw.get("description") or ""),
        str(raw.get("time_zone") or "UTC"),
        layers,
        tuple(
            RemoteOverride(str(o["id"]), parse_time(o["start"]), parse_time(o["end"]), str(o["user"]["id"])) for o in overrides
        ),
    )


def fetch_services(client: RestApiV2Client) -> tuple[RemoteService, ...]:
    """Every service, with its integrations (and their routing keys where PagerDuty includes them)."""
    return tuple(
        RemoteService(
            str(s["id"]),
            str(s.get("name") or ""),
            str(s.get("description") or ""),
            str((s.get("escalation_policy") or {}).get("id") or ""),
            str((s.get("incident_urgency_rule") or {}).get("urgency") or "high"),
            tuple(
                RemoteIntegration(
                    str(i["id"]),
                    str(i.get("type") or "").removesuffix("_reference"),
                    str(i.get("name") or i.get("summary") or ""),
                    i.get("integration_key"),
                )
                for i in s.get("integrations") or []
            ),
        )
        for s in client.iter_all("/services", params={"include[]": ["integrations"]})
    )


def opsctl_integration(service: RemoteService) -> RemoteIntegration | None:
    """The Events API v2 integration opsctl made on ``service``."""
    return next((i for i in service.integrations if i.type == INTEGRATION_TYPE and i.name == INTEGRATION_NAME), None)


def offline_actual(desired: PagerDutyDesired) -> PagerDutyActual:
    """An empty account in which every person of ``desired`` is a user (id = person id):
    what the plan of an offline preview is computed against."""
    return PagerDutyActual(tuple(RemoteUser(p.id, p.name, p.email) for p in desired.people.values()), (), (), ())


def fetch_actual(client: RestApiV2Client, *, since: datetime, until: datetime, progress: Progress = QUIET) -> PagerDutyActual:
    """Read the account: the only reads of a PagerDuty sync."""
    progress.start("PagerDuty: users")
    users = tuple(
        RemoteUser(str(u["id"]), str(u.get("name") or ""), str(u.get("email") or "")) for u in client.iter_all("/users")
    )
    progress.start("PagerDuty: schedules")
    raw_schedules = list(client.iter_all("/schedules", params={"include[]": ["schedule_layers"]}))
    managed = [s for s in raw_schedules if read_marker(s.get("description")) is not None]
    progress.start("PagerDuty: overrides of managed schedules", total=len(managed))
    schedules = []
    for raw in raw_schedules:
        overrides: list[dict[str, Any]] = []
        if read_marker(raw.get("description")) is not None:
            # overflow=true: overrides that began before `since` or end after `until` are read
            # whole, not cut at the bounds, so they compare equal to what opsctl made
            window = {"since": pd_time(since), "until": pd_time(until), "overflow": "true"}
            found = client.rget(f"/schedules/{raw['id']}/overrides", params=window)
            overrides = list(found) if isinstance(found, list) else []
            progress.advance()
        schedules.append(_remote_schedule(raw, overrides))
    progress.start("PagerDuty: escalation policies")
    policies = tuple(
        RemotePolicy(
            str(p["id"]),
            str(p.get("name") or ""),
            str(p.get("description") or ""),
            tuple(
                RemoteRule(
                    int(rule.get("escalation_delay_in_minutes") or 0),
                    tuple((str(t["type"]).removesuffix("_reference"), str(t["id"])) for t in rule.get("targets") or []),
                )
                for rule in p.get("escalation_rules") or []
            ),
        )
        for p in client.iter_all("/escalation_policies")
    )
    progress.start("PagerDuty: services")
    services = fetch_services(client)
    return PagerDutyActual(users, tuple(schedules), policies, services)
