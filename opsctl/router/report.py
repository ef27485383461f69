"""A routing decision in words (``opsctl route``) and as JSON (stored with the alert, ``--format json``)."""

from __future__ import annotations

from typing import Any

from opsctl.model import Org
from opsctl.router.matching import Decision
from opsctl.router.plan import Incident, Plan, chain_lines, morning_owner, person_words, slack_channel


def decision_json(org: Org, decision: Decision) -> dict[str, Any]:
    chain, found = decision.chain, decision.match
    pipeline = org.pipelines.get(found.pipeline) if found.pipeline else None
    return {
        "at": decision.at.isoformat(timespec="seconds"),
        "source": decision.alert.source,
        "status": decision.alert.status,
        "summary": decision.alert.summary,
        "pipeline": found.pipeline,
        "team": found.team,
        "tier": pipeline.tier if pipeline else None,
        "match": found.reason,
        "page_now": chain.page_now,
        "urgency": chain.urgency,
        "reason": chain.reason,
        "rotation": chain.rotation,
        "chain": [
            {
                "role": step.role,
                "person": step.person,
                "name": org.people[step.person].name if step.person in org.people else step.person,
                "paged": step.paged,
                "skipped": step.skipped or None,
                "delay_seconds": int(step.delay.total_seconds()),
            }
            for step in chain.steps
        ],
        "targets": chain.targets,
        "dedup_key": decision.dedup_key,
        "routing_target": decision.routing_target,
        "slack_channel": slack_channel(org, decision),
    }


def assumed_incident(org: Org, decision: Decision) -> Incident | None:
    """For a dry run: a resolve is shown closing an incident its failure opened (paged and
    announced); a firing alert is shown as the first of its failure."""
    if decision.alert.status != "resolved":
        return None
    channel = slack_channel(org, decision)
    found = decision.match
    return Incident(
        decision.dedup_key, decision.alert.failure_key, found.pipeline, found.team, True, True, bool(channel), channel
    )


def plan_json(result: Plan) -> dict[str, Any]:
    return {
        "note": result.note,
        "messages": [{"kind": m.kind, "action": m.action, "target": m.target} for m in result.messages],
    }


def decision_text(org: Org, decision: Decision, result: Plan, routing: str) -> str:
    """The dry run of one alert, for people: which pipeline, which chain, who is skipped and why."""
    found, chain, alert = decision.match, decision.chain, decision.alert
    pipeline = org.pipelines.get(found.pipeline) if found.pipeline else None
    lines = [f"{alert.source} alert, {alert.status}: {alert.summary}"]
    if pipeline is not None:
        lines.append(f"  pipeline  {pipeline.name} ({pipeline.id}), team {found.team}, tier {pipeline.tier}")
    else:
        lines.append(f"  pipeline  none: goes to team {found.team}")
    lines.append(f"            {found.reason}")
    lines.append(f"  at        {decision.at.isoformat(timespec='minutes')}")
    if alert.status == "resolved":
        lines.append("  action    resolves the incident its failure opened, if one is open")
    elif chain.page_now:
        lines.append(f"  action    page now, urgency {chain.urgency}: {chain.reason}")
    else:
        lines.append(f"  action    no page: {chain.reason}")
    if alert.status == "firing":
        for number, line in enumerate(chain_lines(org, chain)):
            lines.append(f"  {'chain' if number == 0 else '':<9} {line}")
        first = next((step for step in chain.steps if step.paged and step.person), None)
        if not chain.page_now:
            first = morning_owner(chain)
        who = person_words(org, first.person) if first and first.person else "nobody (the whole team channel is told)"
        lines.append(f"  {'pages' if chain.page_now else 'morning':<9} {who}")
    lines.append(f"  dedup key {decision.dedup_key}")
    lines.append(f"  routing   {routing}")
    sends = ", ".join(f"{m.kind} {m.action} ({m.target})" for m in result.messages) or "nothing"
    lines.append(f"  sends     {sends}")
    return "\n".join(lines)
