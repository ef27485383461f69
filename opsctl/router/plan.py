"""What to send for one routed alert, given what is already open. Pure.

The outbox stores exactly what :func:`plan` returns, in the transaction that accepts the
alert, so a delivery never depends on the org as it is later. An *incident* is one failure
(one PagerDuty dedup key) from its first firing alert until its resolve:

- a firing alert of a new incident: a PagerDuty trigger (when the tier pages now), a
  message in the pipeline's (else the team's) Slack channel naming who is paged, and a DM
  to that person;
- a repeat (a firing alert of an open incident) is *coalesced*: counted on the alert that
  opened the incident and not sent, while that incident's trigger waits to go out or went
  out less than a refresh interval ago; after that, one repeat sends the trigger again
  (PagerDuty merges it by dedup key, and reopens the incident if a person resolved it
  there). PagerDuty so sees at most one trigger per failure per refresh interval;
- a failure *grouped* with an open incident of a pipeline that shares a data source with
  it (see :class:`Group`) pages nobody: it is attached to that incident, counted there and
  told in its Slack thread;
- a resolve: a PagerDuty resolve if the incident paged (for a group: once every failure in
  it resolved), and a reply in the Slack thread.
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
Effect = Literal["opened", "repeat", "refresh", "grouped", "resolved", "nothing"]
"""What an alert did: opened an incident, was coalesced into an open one (``refresh``: and
sent its trigger again), was attached to a group, resolved, or changed nothing."""

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
    opened_alert: int | None = None
    """The alert that opened it (its latest opening, after a resolve and a new failure)."""
    opened_at: float = 0.0
    last_trigger_at: float | None = None
    """When its latest PagerDuty trigger was queued."""
    trigger_pending: bool = False
    """That trigger is still waiting to be delivered."""
    lead: int | None = None
    """The incident id of the group it belongs to: its own id once others joined it, None while
    it stands alone (a pipeline's incident alone may still be joined, see :class:`Group`)."""
    shared_source: str | None = None
    """For a group's lead: the data source its members share with it."""
    members_open: int = 0
    """For a group's lead: its failures still open, itself included."""


@dataclass(frozen=True)
class Group:
    """An open incident that a new failure may join instead of paging: the lead's incident,
    and the data source the new failure's pipeline shares with the lead's."""

    lead: Incident
    source: str


@dataclass(frozen=True)
class Plan:
    messages: tuple[Message, ...]
    incident: Incident | None
    note: str
    effect: Effect = "nothing"
    lead: Incident | None = None
    """The group's lead after this alert, when the alert changes it (joins, resolves)."""
    counted_on: int | None = None
    """The alert whose counts this one adds to: a repeat's opening alert, a grouped failure's lead's."""


@dataclass(frozen=True)
class Message:
    """One row of the outbox: what to send where."""

    kind: Kind
    action: Action
    target: str
    """PagerDuty: the routing target (``pipeline:<id>``/``team:<id>``); Slack: a channel or person id."""
    body: dict[str, Any]


@dataclass(frozen=True)
class Timing:
    """The instant an alert is planned at, and the refresh interval of coalescing (seconds)."""

    now: float = 0.0
    refresh: float = 3600.0


def plan(
    org: Org,
    decision: Decision,
    incident: Incident | None,
    *,
    slack: bool,
    timing: Timing = Timing(),
    group: Group | None = None,
    lead: Incident | None = None,
) -> Plan:
    """The messages for ``decision``, and the incident afterwards; ``slack``: is Slack configured.

    ``group``: an open incident this failure may join (a new failure only); ``lead``: the
    lead of the group ``incident`` belongs to, when it is not its own (a resolve only).
    """
    if incident is not None and incident.dedup_key != decision.dedup_key:
        # a resolve found the failure's open incident under the key it was opened with
        target = routing_target(incident.pipeline, incident.team)
        decision = replace(decision, dedup_key=incident.dedup_key, routing_target=target)
    if decision.alert.status == "resolved":
        return _resolve(org, decision, incident, lead)
    is_open = incident is not None and incident.open
    if is_open:
        assert incident is not None
        return _repeat(org, decision, incident, slack=slack, timing=timing)
    if group is not None and (group.lead.paged or not decision.chain.page_now):
        return _join(org, decision, incident, group, timing)
    return _open(org, decision, incident, slack=slack, timing=timing)


def _open(org: Org, decision: Decision, incident: Incident | None, *, slack: bool, timing: Timing) -> Plan:
    alert, chain, key = decision.alert, decision.chain, decision.dedup_key
    channel = slack_channel(org, decision) if slack else None
    messages = []
    paged = chain.page_now
    if paged:
        messages.append(Message("pagerduty", "trigger", decision.routing_target, pagerduty_trigger(org, decision)))
    first = _first_paged(chain)
    if channel:
        text, line = channel_message(org, decision)
        messages.append(Message("slack-channel", "post", channel, {"channel": channel, "text": text, "line": line}))
    if slack and paged and first is not None and first.person is not None:
        messages.append(_dm(org, decision, first))
    reopened = incident.id if incident is not None else None  # the same failure again, after its resolve
    found = decision.match
    opened = Incident(
        key,
        alert.failure_key,
        found.pipeline,
        found.team,
        True,
        paged,
        bool(channel),
        channel,
        reopened,
        opened_at=timing.now,
        last_trigger_at=timing.now if paged else None,
        trigger_pending=paged,
        members_open=1,
    )
    return Plan(tuple(messages), opened, "opens an incident", "opened")


def _repeat(org: Org, decision: Decision, incident: Incident, *, slack: bool, timing: Timing) -> Plan:
    chain = decision.chain
    counted = incident.opened_alert
    if incident.lead is not None and incident.lead != incident.id:
        note = "repeat of a failure grouped into another incident: counted there, nothing sent"
        return Plan((), incident, note, "repeat", counted_on=counted)
    messages: list[Message] = []
    after = incident
    if chain.page_now and not incident.paged:
        # the tier pages now and did not when the incident opened (the morning came): the first page
        messages.append(Message("pagerduty", "trigger", decision.routing_target, pagerduty_trigger(org, decision)))
        first = _first_paged(chain)
        if slack and first is not None and first.person is not None:
            messages.append(_dm(org, decision, first))
        after = replace(incident, paged=True, last_trigger_at=timing.now, trigger_pending=True)
        return Plan(tuple(messages), after, "repeat of an open incident that now pages: paged", "refresh", counted_on=counted)
    if not incident.paged:
        note = "repeat of an open incident that does not page now: counted, nothing sent"
        return Plan((), incident, note, "repeat", counted_on=counted)
    since = timing.now - (incident.last_trigger_at or 0.0)
    if incident.trigger_pending or since < timing.refresh:
        why = (
            "its trigger is still waiting to go out"
            if incident.trigger_pending
            else f"PagerDuty got its trigger {_ago(since)} ago"
        )
        note = f"repeat of an open incident: counted, not sent ({why}; at most one trigger per {_ago(timing.refresh)})"
        return Plan((), incident, note, "repeat", counted_on=counted)
    messages.append(Message("pagerduty", "trigger", decision.routing_target, pagerduty_trigger(org, decision)))
    after = replace(incident, last_trigger_at=timing.now, trigger_pending=True)
    note = f"repeat of an open incident: its trigger is sent again, {_ago(since)} after the last (PagerDuty merges it)"
    return Plan(tuple(messages), after, note, "refresh", counted_on=counted)


def _join(org: Org, decision: Decision, incident: Incident | None, group: Group, timing: Timing) -> Plan:
    lead, alert, found = group.lead, decision.alert, decision.match
    title = _title(org, decision)
    if incident is not None and incident.id == lead.id:
        # the lead's own failure again while its group is still open: back in, nothing new to page
        after = replace(incident, open=True, members_open=incident.members_open + 1)
        return Plan((), after, "fails again while its group is open: counted, nothing sent", "repeat", after, lead.opened_alert)
    lead_title = _pipeline_title(org, lead.pipeline)
    minutes = max(0, round((timing.now - lead.opened_at) / 60))
    why = (
        f"grouped: {escape(found.pipeline or '')} reads {escape(group.source)}, like {lead_title}, "
        f"which failed {minutes} min earlier"
    )
    messages: list[Message] = []
    if lead.announced and lead.channel:
        text = (
            f":link: Also failing: *{title}*: {escape(alert.summary)}\n{why[:1].upper()}{why[1:]}. "
            f"{escape(group.source)}: {lead.members_open + 1} pipelines failing; one incident, paged once, "
            f"not this pipeline's owners."
        )
        line = f"also failing: {title} (shares {group.source})"
        messages.append(
            Message("slack-channel", "reply", lead.channel, {"channel": lead.channel, "text": _cut(text), "line": line})
        )
    member = Incident(
        decision.dedup_key,
        alert.failure_key,
        found.pipeline,
        found.team,
        True,
        False,
        False,
        lead.channel,
        incident.id if incident is not None else None,
        opened_at=timing.now,
        lead=lead.id,
    )
    lead_after = replace(lead, lead=lead.id, members_open=lead.members_open + 1, shared_source=lead.shared_source or group.source)
    note = f"{why}: attached to its incident ({lead.dedup_key}) instead of paging this pipeline's owners"
    return Plan(tuple(messages), member, note, "grouped", lead_after, lead.opened_alert)


def _resolve(org: Org, decision: Decision, incident: Incident | None, lead: Incident | None) -> Plan:
    alert = decision.alert
    if incident is None or not incident.open:
        return Plan((), incident, "nothing is open for this failure: nothing to resolve")
    closed = replace(incident, open=False, members_open=0 if incident.lead in (None, incident.id) else incident.members_open)
    grouped = incident.lead is not None
    head = incident if lead is None else lead
    if not grouped or head.members_open <= 1:
        messages = []
        if head.paged:
            resolve = {"event_action": "resolve", "dedup_key": head.dedup_key}
            messages.append(Message("pagerduty", "resolve", routing_target(head.pipeline, head.team), resolve))
        if head.announced and head.channel:
            what = _title(org, decision)
            if grouped and head is not incident:
                what += f", the last failing pipeline of the {head.shared_source or 'group'} incident"
            text = f":white_check_mark: Resolved: *{what}*: {escape(alert.summary)}"
            reply = {"channel": head.channel, "text": _cut(text), "line": f"resolved: {_title(org, decision)}"}
            messages.append(Message("slack-channel", "reply", head.channel, reply))
        after_lead = replace(head, members_open=0, open=False if head is incident else head.open) if grouped else None
        if head is incident and after_lead is not None:
            closed = after_lead
            after_lead = None
        return Plan(tuple(messages), closed, "resolves the open incident", "resolved", after_lead)
    # one failure of a group recovers while others still fail: the incident stays open
    left = head.members_open - 1
    after_lead = replace(head, members_open=left)
    if head is incident:
        closed, after_lead = replace(after_lead, open=False), None
    messages = []
    if head.announced and head.channel:
        text = (
            f":white_check_mark: *{_title(org, decision)}* recovered; {left} grouped "
            f"pipeline{'s' if left != 1 else ''} still failing, so the incident stays open"
        )
        line = f"recovered: {_title(org, decision)}"
        messages.append(Message("slack-channel", "reply", head.channel, {"channel": head.channel, "text": text, "line": line}))
    note = f"resolves this failure; {left} other failure{'s' if left != 1 else ''} of its group still open"
    return Plan(tuple(messages), closed, note, "resolved", after_lead)


def _dm(org: Org, decision: Decision, first: ChainStep) -> Message:
    assert first.person is not None
    person = org.people.get(first.person)
    body: dict[str, Any] = {
        "person": first.person,
        "slack_id": person.slack_id if person else None,
        "email": person.email if person else None,
        "text": dm_message(org, decision, first),
        "line": f"{_title(org, decision)}: {escape(decision.alert.summary)}",
    }
    return Message("slack-dm", "post", first.person, body)


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _pipeline_title(org: Org, pipeline_id: str | None) -> str:
    pipeline = org.pipelines.get(pipeline_id) if pipeline_id else None
    return f"{pipeline.name} ({pipeline.id})" if pipeline is not None else str(pipeline_id)


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
