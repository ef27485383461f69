"""A routing decision in words (``opsctl route``) and as JSON (stored with the alert, ``--format json``);
:func:`dry_run` is what ``opsctl route`` runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.router.matching import Decision
from opsctl.router.plan import Plan, chain_lines, morning_owner, person_words, slack_channel
from opsctl.router.routing import DryRun, Router, RoutingPolicy
from opsctl.vendors.routing_keys import RoutingKeyFile


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


def paged_people(decision: Decision) -> list[str]:
    """Person ids the chain pages, in order (the first at once, then each after its step's delay)."""
    return [step.person for step in decision.chain.steps if step.paged and step.person]


def plan_json(result: Plan) -> dict[str, Any]:
    return {
        "note": result.note,
        "effect": result.effect,
        "messages": [{"kind": m.kind, "action": m.action, "target": m.target} for m in result.messages],
    }


def grouping_words(router: Router, decision: Decision, result: Plan) -> str | None:
    """Why the alert was grouped, or what grouping would do with it; None when nothing applies."""
    if result.effect == "grouped":
        return result.note
    pipeline = decision.match.pipeline
    window = router.policy.group_window
    if decision.alert.status != "firing" or pipeline is None or window <= 0:
        return None
    others = router.shared.others(pipeline)
    if not others:
        return None
    shared = ", ".join(f"{other} (reads {source} too)" for other, source in sorted(others.items()))
    after = _window(window)
    return f"later failures of this pipeline or of {shared}, {after} after this one, join its incident instead of paging"


def _window(seconds: float) -> str:
    return f"up to {seconds / 3600:g} h" if seconds >= 3600 else f"up to {seconds / 60:g} min"


def decision_text(org: Org, decision: Decision, result: Plan, routing: str, grouping: str | None = None) -> str:
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
    elif result.effect == "grouped":
        lines.append("  action    no page: grouped with an open incident (below)")
    elif chain.page_now:
        lines.append(f"  action    page now, urgency {chain.urgency}: {chain.reason}")
    else:
        lines.append(f"  action    no page: {chain.reason}")
    if alert.status == "firing":
        for number, line in enumerate(chain_lines(org, chain)):
            lines.append(f"  {'chain' if number == 0 else '':<9} {line}")
        first = next((step for step in chain.steps if step.paged and step.person), None)
        if result.effect == "grouped":
            first = None
        elif not chain.page_now:
            first = morning_owner(chain)
        who = person_words(org, first.person) if first and first.person else "nobody (the whole team channel is told)"
        if result.effect == "grouped":
            who = "nobody: the open incident it joined has paged"
        lines.append(f"  {'pages' if chain.page_now else 'morning':<9} {who}")
    if grouping:
        lines.append(f"  grouping  {grouping}")
    lines.append(f"  dedup key {decision.dedup_key}")
    lines.append(f"  routing   {routing}")
    sends = ", ".join(f"{m.kind} {m.action} ({m.target})" for m in result.messages) or "nothing"
    lines.append(f"  sends     {sends}")
    return "\n".join(lines)


@dataclass(frozen=True)
class DryRunResult:
    """What ``opsctl route`` prints: per alert its JSON and its words, or why nothing routes."""

    source: str
    ignored: str
    alerts: list[dict[str, Any]]
    texts: list[str]


def dry_run(
    org: Org,
    engine: Engine,
    body: bytes,
    *,
    at: datetime,
    source: str | None = None,
    routing_keys: RoutingKeyFile | None = None,
    policy: RoutingPolicy | None = None,
) -> DryRunResult:
    """Route a payload as the server would at ``at``, storing and sending nothing: the
    server's own decide → plan path (:class:`~opsctl.router.routing.Router`) against a
    :class:`~opsctl.router.routing.DryRun` of what is open."""
    from opsctl.router.sources import BY_NAME, guess_source
    from opsctl.router.sources.shape import load_json

    data = load_json(body)
    chosen = source or guess_source(data)
    parsed = BY_NAME[chosen].parse(data)
    if parsed.ignored:
        return DryRunResult(chosen, parsed.ignored, [], [])
    router = Router(org, engine, policy or RoutingPolicy())
    dry = DryRun(router)
    out: list[dict[str, Any]] = []
    texts = []
    for alert in parsed.alerts:
        decision = router.decide(alert, at)
        result = dry.route(decision, slack=True)
        if routing_keys is None:
            routing = "key not checked (no --routing-keys or OPSCTL_ROUTING_KEYS_FILE)"
        else:
            found, why = routing_keys.lookup(decision.routing_target)
            routing = why if found is None else f"uses {why}"
        grouping = grouping_words(router, decision, result)
        out.append(decision_json(org, decision) | plan_json(result) | {"routing": routing, "grouping": grouping})
        texts.append(decision_text(org, decision, result, routing, grouping))
    return DryRunResult(chosen, "", out, texts)
