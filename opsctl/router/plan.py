"""What to send for one routed alert, given what is already open. Pure.

The outbox stores exactly what :func:`plan` returns, in the transaction that accepts the
alert, so a delivery never depends on the org as it is later. An *incident* is one failure
(one PagerDuty dedup key) from its first firing alert until its resolve:

- a firing alert of a new incident: a PagerDuty trigger (when the tier pages now), a
  message in the pipeline's (else the team's) Slack channel naming who is paged, and a DM
  to that person;
- a firing alert of an open incident (a repeat): the trigger again (PagerDuty merges it by
  dedup key, and reopens it if a person resolved it there) but no second Slack message;
- a resolve: a PagerDuty resolve if the incident paged, and a reply in the Slack thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from opsctl.engine.escalation import Chain, ChainStep
from opsctl.model import Org
from opsctl.router.matching import Decision, routing_target

Kind = Literal["pagerduty", "slack-channel", "slack-dm"]
Action = Literal["trigger", "resolve", "post", "reply"]
"""``reply``: a Slack message in the thread of the incident's first message."""

PD_SUMMARY_LIMIT = 1024
SLACK_TEXT_LIMIT = 3000


@dataclass(frozen=True)
class Incident:
    """The state of one failure, as the outbox keeps it."""

    dedup_key: str
    failure_key: str
    pipeline: str | None
    team: str
    open: bool
    paged: bool
    """A PagerDuty trigger was queued for it."""
    announced: bool
    """A Slack channel message was queued for it."""
    channel: str | None
    id: int | None = None
    """The outbox's number for it; None until it is stored."""


@dataclass(frozen=True)
class Message:
    """One row of the outbox: what to send where."""

    kind: Kind
    action: Action
    target: str
    """PagerDuty: the routing target (``pipeline:<id>``/``team:<id>``); Slack: a channel or person id."""
    body: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    messages: tuple[Message, ...]
    incident: Incident | None
    note: str


def plan(org: Org, decision: Decision, incident: Incident | None, *, slack: bool) -> Plan:
    """The messages for ``decision``, and the incident afterwards; ``slack``: is Slack configured."""
    if incident is not None and incident.dedup_key != decision.dedup_key:
        # a resolve found the failure's open incident under the key it was opened with
        target = routing_target(incident.pipeline, incident.team)
        decision = replace(decision, dedup_key=incident.dedup_key, routing_target=target)
    alert, chain, key = decision.alert, decision.chain, decision.dedup_key
    channel = slack_channel(org, decision) if slack else None
    is_open = incident is not None and incident.open
    if alert.status == "resolved":
        if incident is None or not is_open:
            return Plan((), incident, "nothing is open for this failure: nothing to resolve")
        messages = []
        if incident.paged:
            resolve = {"event_action": "resolve", "dedup_key": key}
            messages.append(Message("pagerduty", "resolve", decision.routing_target, resolve))
        if incident.announced and incident.channel:
            text = f":white_check_mark: Resolved: *{_title(org, decision)}*: {escape(alert.summary)}"
            reply = {"channel": incident.channel, "text": _cut(text), "line": f"resolved: {_title(org, decision)}"}
            messages.append(Message("slack-channel", "reply", incident.channel, reply))
        return Plan(tuple(messages), replace(incident, open=False), "resolves the open incident")

    messages = []
    paged = chain.page_now
    if paged:
        messages.append(Message("pagerduty", "trigger", decision.routing_target, pagerduty_trigger(org, decision)))
    first = _first_paged(chain)
    already_announced = is_open and incident is not None and incident.announced
    if channel and not already_announced:
        text, line = channel_message(org, decision)
        messages.append(Message("slack-channel", "post", channel, {"channel": channel, "text": text, "line": line}))
    already_paged = is_open and incident is not None and incident.paged
    if slack and paged and first is not None and first.person is not None and not already_paged:
        person = org.people.get(first.person)
        body: dict[str, Any] = {
            "person": first.person,
            "slack_id": person.slack_id if person else None,
            "email": person.email if person else None,
            "text": dm_message(org, decision, first),
            "line": f"{_title(org, decision)}: {escape(alert.summary)}",
        }
        messages.append(Message("slack-dm", "post", first.person, body))
    if is_open and incident is not None:
        after = replace(incident, paged=incident.paged or paged, announced=incident.announced or bool(channel))
        note = "repeat of an open incident: PagerDuty merges it by dedup key; no second Slack message"
        return Plan(tuple(messages), after, note)
    reopened = incident.id if incident is not None else None  # the same failure again, after its resolve
    found = decision.match
    opened = Incident(key, alert.failure_key, found.pipeline, found.team, True, paged, bool(channel), channel, reopened)
    return Plan(tuple(messages), opened, "opens an incident")


def slack_channel(org: Org, decision: Decision) -> str | None:
    pipeline = org.pipelines.get(decision.match.pipeline) if decision.match.pipeline else None
    if pipeline is not None and pipeline.slack_channel:
        return pipeline.slack_channel
    team = org.teams.get(decision.match.team)
    return team.slack_channel if team else None


# -- words -----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, so an alert's text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int = SLACK_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_paged(chain: Chain) -> ChainStep | None:
    return next((step for step in chain.steps if step.paged), None)


def morning_owner(chain: Chain) -> ChainStep | None:
    """Who a failure held for the morning is for: the first owner who is only away for the
    night (not on time off), else whoever the chain would page."""
    for step in chain.steps:
        if step.role.startswith("pipeline_") and step.person and step.skipped in ("", "outside working hours"):
            return step
    return _first_paged(chain)


def _title(org: Org, decision: Decision) -> str:
    pipeline = org.pipelines.get(decision.match.pipeline) if decision.match.pipeline else None
    if pipeline is not None:
        return f"{pipeline.name} ({pipeline.id})"
    team = org.teams.get(decision.match.team)
    return f"Unmatched alert for {team.name if team else decision.match.team}"


def person_words(org: Org, person_id: str, *, mention: bool = False) -> str:
    person = org.people.get(person_id)
    if person is None:
        return person_id
    if mention and person.slack_id:
        return f"<@{person.slack_id}> ({person.name})"
    return f"{person.name} ({person_id})"


_MEMO: dict[tuple[int, str], tuple[Chain, Any]] = {}


def _memo(kind: str, chain: Chain, make: Any) -> Any:
    """The words of a chain, made once per chain: in a storm thousands of alerts share a
    chain (see :class:`~opsctl.router.matching.ChainCache`) and so share its words."""
    entry = _MEMO.get((id(chain), kind))
    if entry is not None and entry[0] is chain:
        return entry[1]
    if len(_MEMO) > 4096:
        _MEMO.clear()
    value = make()
    _MEMO[(id(chain), kind)] = (chain, value)
    return value


def chain_lines(org: Org, chain: Chain) -> list[str]:
    """The chain, one line per step, for PagerDuty's details and ``opsctl route``."""
    lines: list[str] = _memo("lines", chain, lambda: _chain_lines(org, chain))
    return lines


def _chain_lines(org: Org, chain: Chain) -> list[str]:
    lines = []
    for number, step in enumerate(chain.steps, start=1):
        who = person_words(org, step.person) if step.person else "nobody"
        state = f"skipped: {step.skipped}" if step.skipped else f"paged, then {_minutes(step.delay)} to acknowledge"
        if not step.skipped and step is chain.steps[-1]:
            state = "paged"
        lines.append(f"{number}. {step.role_words}: {who}, {state}")
    return lines


def _minutes(delay: Any) -> str:
    return f"{int(delay.total_seconds() // 60)} min"


def _skipped_words(org: Org, chain: Chain) -> str:
    words: str = _memo("skipped", chain, lambda: _skipped(org, chain))
    return words


def _skipped(org: Org, chain: Chain) -> str:
    skipped = [
        f"{step.role_words} {person_words(org, step.person)}, {step.skipped}"
        for step in chain.steps
        if step.person and step.skipped and step.skipped != "already in the chain"
    ]
    return f"\nSkipped: {'; '.join(skipped)}." if skipped else ""


def channel_message(org: Org, decision: Decision) -> tuple[str, str]:
    """The team channel's message and its one-line form for digests."""
    alert, chain = decision.alert, decision.chain
    title, summary = _title(org, decision), escape(alert.summary)
    first = _first_paged(chain)
    tier = org.pipelines[decision.match.pipeline].tier if decision.match.pipeline else "unmatched"
    facts = f"Tier {tier} · urgency {chain.urgency} · from {alert.source} · dedup key `{decision.dedup_key}`"
    if first is None or first.person is None:
        who = "nobody in the chain can be paged now"
        head = f":rotating_light: <!here> *{title}*: {summary}\n{who.capitalize()}: {escape(chain.reason)}."
    elif chain.page_now:
        who = person_words(org, first.person)
        head = (
            f":rotating_light: *{title}*: {summary}\nPaging {person_words(org, first.person, mention=True)}, "
            f"{first.role_words}.{_skipped_words(org, chain)}"
        )
    else:
        owner = morning_owner(chain) or first
        assert owner.person is not None
        who = person_words(org, owner.person)
        head = (
            f":sunrise: *{title}*: {summary}\nNot paging now: {escape(chain.reason)}. "
            f"For the morning: {person_words(org, owner.person, mention=True)}, {owner.role_words}."
        )
    if decision.match.pipeline is None:
        head += f"\n{escape(decision.match.reason)}."
    return _cut(f"{head}\n{facts}"), f"{title}: {summary} → {who}"


def dm_message(org: Org, decision: Decision, step: ChainStep) -> str:
    alert = decision.alert
    links = "".join(f"\n<{link.href}|{escape(link.text)}>" for link in alert.links if _is_web(link.href))
    return _cut(
        f":rotating_light: You are paged as {step.role_words} for *{_title(org, decision)}*: {escape(alert.summary)}\n"
        f"Acknowledge it in PagerDuty (dedup key `{decision.dedup_key}`).{links}"
    )


def _is_web(href: str) -> bool:
    return href.startswith(("https://", "http://")) and not any(c in href for c in "<>| \n")


SEVERITIES = ("critical", "error", "warning", "info")


def severity(decision: Decision) -> str:
    """PagerDuty severity: the tier's urgency decides, the source's own word refines it."""
    said = (decision.alert.severity or "").lower()
    if decision.chain.urgency == "high":
        return "error" if said == "error" else "critical"
    return "info" if said == "info" else "warning"


def pagerduty_trigger(org: Org, decision: Decision) -> dict[str, Any]:
    """The Events API v2 trigger, without ``routing_key`` (looked up when it is sent)."""
    alert, chain, found = decision.alert, decision.chain, decision.match
    pipeline = org.pipelines.get(found.pipeline) if found.pipeline else None
    summary = f"[{pipeline.tier}] {pipeline.name}: {alert.summary}" if pipeline else f"[unmatched] {alert.summary}"
    if len(summary) > PD_SUMMARY_LIMIT:
        summary = summary[: PD_SUMMARY_LIMIT - 1] + "…"
    first = _first_paged(chain)
    details: dict[str, Any] = {
        "pipeline": found.pipeline,
        "team": found.team,
        "tier": pipeline.tier if pipeline else None,
        "urgency": chain.urgency,
        "routing": found.reason,
        "page_first": person_words(org, first.person) if first and first.person else None,
        "chain": chain_lines(org, chain),
        "source": alert.source,
        "source_time": alert.occurred_at,
        "details": alert.details,
    }
    links = [{"href": link.href, "text": link.text} for link in alert.links if _is_web(link.href)]
    if pipeline is not None:
        links += [{"href": link.url, "text": link.name} for link in pipeline.monitoring if _is_web(link.url)]
    body: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": decision.dedup_key,
        "payload": {
            "summary": summary,
            "source": f"opsctl/{alert.source}",
            "severity": severity(decision),
            "timestamp": decision.at.isoformat(timespec="milliseconds"),
            "component": found.pipeline or "unmatched",
            "group": found.team,
            "class": alert.source,
            "custom_details": {key: value for key, value in details.items() if value is not None},
        },
        "client": "opsctl",
    }
    if links:
        body["links"] = links[:10]
    return body
