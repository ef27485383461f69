"""`opsctl doctor`: are the tokens set, valid and allowed enough, and is everybody findable?

PagerDuty: ``PAGERDUTY_TOKEN`` is set and accepted (``GET /abilities``), and every person
of the org is a PagerDuty user (by ``pagerduty_id``, else by email). Slack:
``SLACK_BOT_TOKEN`` is set and accepted (``auth.test``), holds the scopes the sync,
notify and the alert router need (from the ``x-oauth-scopes`` header Slack sends with
every answer), and every person is a Slack user (by ``slack_id``, else by email, from a
few paginated ``users.list`` reads). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsctl.model import Org, Person
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.errors import VendorError, translated

SLACK_SCOPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("find people (users.list)", ("users:read",)),
    ("see people's emails (users.list, and users.lookupByEmail for the alert router)", ("users:read.email",)),
    ("read user groups (usergroups.list)", ("usergroups:read",)),
    ("keep the on-call user groups (usergroups.create, usergroups.users.update)", ("usergroups:write",)),
    ("find team channels (conversations.list)", ("channels:read", "groups:read")),
    ("set channel topics (conversations.setTopic)", ("channels:manage", "channels:write", "groups:write")),
    ("find earlier handoff messages (conversations.history)", ("channels:history", "groups:history")),
    ("post handoffs and alerts (chat.postMessage)", ("chat:write",)),
    ("message the person paged (conversations.open)", ("im:write",)),
)
"""What opsctl does in Slack, and the scopes of which one is enough for it."""


@dataclass(frozen=True)
class Check:
    service: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Missing:
    service: str
    person: str
    message: str


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]
    missing: tuple[Missing, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and not self.missing


def _label(person: Person) -> str:
    return f"{person.name} ({person.id}, {person.email})"


def check_pagerduty(config: VendorConfig, org: Org) -> tuple[list[Check], list[Missing]]:
    from opsctl.vendors.pagerduty_api import rest_client, rest_pacer

    if not config.pagerduty_token:
        return [Check("PagerDuty", False, "PAGERDUTY_TOKEN is not set: export a REST API v2 token (sync pagerduty needs it)")], []
    client = rest_client(config, pacer=rest_pacer())
    try:
        with translated(config):
            client.rget("/abilities")
            users = list(client.iter_all("/users"))
    except VendorError as found:
        return [Check("PagerDuty", False, str(found))], []
    checks = [
        Check("PagerDuty", True, f"PAGERDUTY_TOKEN is accepted ({config.pagerduty_api_url}); {len(users)} users in the account")
    ]
    by_email = {str(u.get("email") or "").lower() for u in users}
    ids = {str(u.get("id")) for u in users}
    missing = []
    for person in org.people.values():
        if person.pagerduty_id:
            if person.pagerduty_id not in ids:
                missing.append(
                    Missing("PagerDuty", person.id, f"{_label(person)}: pagerduty_id {person.pagerduty_id} is not a user")
                )
        elif person.email.lower() not in by_email:
            missing.append(Missing("PagerDuty", person.id, f"{_label(person)}: no user has this email"))
    return checks, missing


def _scopes(response: Any) -> set[str] | None:
    headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    raw = headers.get("x-oauth-scopes")
    if isinstance(raw, list):
        raw = ",".join(raw)
    return None if raw is None else {s.strip() for s in str(raw).split(",") if s.strip()}


def check_slack(config: VendorConfig, org: Org) -> tuple[list[Check], list[Missing]]:
    from opsctl.sync.slack import SlackPerson, directory
    from opsctl.vendors.slack_api import slack_client, slack_pacer

    if not config.slack_token:
        return [Check("Slack", False, "SLACK_BOT_TOKEN is not set: export a bot token (sync slack and notify need it)")], []
    client = slack_client(config, pacer=slack_pacer())
    try:
        with translated(config):
            identity = client.auth_test()
    except VendorError as found:
        return [Check("Slack", False, str(found))], []
    checks = [
        Check("Slack", True, f"SLACK_BOT_TOKEN is accepted: workspace {identity.get('team')}, bot user {identity.get('user')}")
    ]
    scopes = _scopes(identity)
    if scopes is None:
        checks.append(Check("Slack", False, "Slack did not say which scopes the token holds (no x-oauth-scopes header)"))
        scopes = set()
    else:
        lacking = [f"{', '.join(need)} to {what}" for what, need in SLACK_SCOPES if not scopes & set(need)]
        if lacking:
            checks.extend(Check("Slack", False, f"missing scope: {item}") for item in lacking)
        else:
            checks.append(Check("Slack", True, f"the token holds every scope opsctl uses ({len(scopes)} scopes)"))
    missing: list[Missing] = []
    if not {"users:read", "users:read.email"} <= scopes:
        checks.append(Check("Slack", False, "cannot find people without the users:read and users:read.email scopes"))
        return checks, missing
    with translated(config):
        people = directory(client)
    for person in org.people.values():
        if people.find(SlackPerson(person.id, person.name, person.email, person.slack_id)) is None:
            how = f"slack_id {person.slack_id} is not a user" if person.slack_id else "no user has this email"
            missing.append(Missing("Slack", person.id, f"{_label(person)}: {how}"))
    return checks, missing


def doctor(config: VendorConfig, org: Org) -> DoctorReport:
    from opsctl.vendors.errors import translated

    checks: list[Check] = []
    missing: list[Missing] = []
    with translated(config):
        for check in (check_pagerduty, check_slack):
            found, absent = check(config, org)
            checks += found
            missing += absent
    return DoctorReport(tuple(checks), tuple(missing))


def render_report(report: DoctorReport) -> str:
    lines: list[str] = []
    for service in ("PagerDuty", "Slack"):
        lines.append(service)
        for check in (c for c in report.checks if c.service == service):
            lines.append(f"  {'ok  ' if check.ok else 'FAIL'}  {check.message}")
        absent = [m for m in report.missing if m.service == service]
        if absent:
            lines.append(f"  FAIL  {len(absent)} {'person is' if len(absent) == 1 else 'people are'} not in {service}:")
            lines.extend(f"          {m.message}" for m in absent)
        elif any(c.ok for c in report.checks if c.service == service):
            lines.append(f"  ok    everybody is in {service}")
    lines.append("")
    lines.append("opsctl doctor: " + ("all good" if report.ok else "problems found"))
    return "\n".join(lines) + "\n"
