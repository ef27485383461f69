"""Routing one alert: decide (pure matching and chain), look up what is open, plan. The
one path both the server (inside its accepting transaction) and ``opsctl route`` (its dry
run) take.

What is open comes from a :class:`Lookup`: the store's, bound to the transaction, or
:class:`DryRun`, which assumes what a dry run cannot know (a resolve closes an incident
its failure opened) and remembers the alerts of the same payload (so a payload with
several failures shows how they group).

Grouping. Pipelines name their data sources. A new failure of a pipeline that reads a
data source another pipeline's open incident also reads, opened less than
``group_window`` seconds ago, joins that incident instead of paging (see
:func:`opsctl.router.plan.plan`); a pipeline shares its sources with itself, so several
failures of one pipeline in the window page once too. Sources are the same when their
names are (case, spaces, ``-`` and ``_`` aside).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.router.alert import Alert
from opsctl.router.matching import AlertIndex, ChainCache, Decision, decide, normalize
from opsctl.router.plan import Group, Incident, Plan, Timing, plan

DEFAULT_REFRESH = 3600.0
"""Seconds between two triggers of one open failure (repeats in between are counted)."""
DEFAULT_GROUP_WINDOW = 600.0
"""Seconds after a failure during which failures sharing its data sources join its incident."""


@dataclass(frozen=True)
class RoutingPolicy:
    refresh: float = DEFAULT_REFRESH
    group_window: float = DEFAULT_GROUP_WINDOW
    """0 turns grouping off."""


class SharedSources:
    """For each pipeline, the pipelines that read one of its data sources (itself included),
    with the name of one source they share."""

    def __init__(self, org: Org) -> None:
        readers: dict[str, list[tuple[str, str]]] = {}
        for pipeline in org.pipelines.values():
            for source in pipeline.data_sources:
                readers.setdefault(normalize(source.name), []).append((pipeline.id, source.name))
        self.peers: dict[str, dict[str, str]] = {}
        for pipeline in org.pipelines.values():
            found: dict[str, str] = {}
            for source in pipeline.data_sources:
                for other, name in readers[normalize(source.name)]:
                    found.setdefault(other, name if other != pipeline.id else source.name)
            if found:
                self.peers[pipeline.id] = found

    def of(self, pipeline: str | None) -> dict[str, str]:
        """Pipeline id → a data source it shares with ``pipeline``."""
        return self.peers.get(pipeline or "", {})

    def others(self, pipeline: str) -> dict[str, str]:
        return {other: name for other, name in self.of(pipeline).items() if other != pipeline}


class Lookup(Protocol):
    """What is open, as the accepting transaction (or a dry run) sees it."""

    def incident(self, dedup_key: str, failure_key: str, *, resolving: bool) -> Incident | None: ...

    def incident_by_id(self, incident_id: int) -> Incident | None: ...

    def open_lead(self, pipelines: tuple[str, ...], since: float) -> Incident | None:
        """The oldest incident of ``pipelines`` opened since ``since`` whose group is still open."""
        ...


@dataclass
class Router:
    """What routing needs of the org, built once and shared by every alert."""

    org: Org
    engine: Engine
    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    index: AlertIndex = field(init=False)
    chains: ChainCache = field(init=False)
    shared: SharedSources = field(init=False)

    def __post_init__(self) -> None:
        self.index = AlertIndex(self.org)
        self.chains = ChainCache(self.org, self.engine)
        self.shared = SharedSources(self.org)

    def decide(self, alert: Alert, at: datetime) -> Decision:
        return decide(self.org, self.engine, self.index, alert, at, chains=self.chains)

    def route(self, decision: Decision, lookup: Lookup, *, slack: bool) -> Plan:
        """The plan of ``decision`` given what ``lookup`` finds open."""
        alert = decision.alert
        now = decision.at.timestamp()
        resolving = alert.status == "resolved"
        incident = lookup.incident(decision.dedup_key, alert.failure_key, resolving=resolving)
        group = lead = None
        if resolving:
            if incident is not None and incident.lead is not None and incident.lead != incident.id:
                lead = lookup.incident_by_id(incident.lead)
        elif (incident is None or not incident.open) and self.policy.group_window > 0:
            peers = self.shared.of(decision.match.pipeline)
            if peers:
                found = lookup.open_lead(tuple(peers), now - self.policy.group_window)
                if found is not None and found.pipeline in peers:
                    group = Group(found, peers[found.pipeline])
        timing = Timing(now, self.policy.refresh)
        return plan(self.org, decision, incident, slack=slack, timing=timing, group=group, lead=lead)


@dataclass
class DryRun:
    """A :class:`Lookup` for ``opsctl route``: nothing is stored, so a resolve is assumed to
    close an incident its failure opened (paged and announced), and the payload's own
    earlier alerts are what is open."""

    router: Router
    opened: dict[str, Incident] = field(default_factory=dict)
    by_id: dict[int, Incident] = field(default_factory=dict)
    assumed: Incident | None = None

    def incident(self, dedup_key: str, failure_key: str, *, resolving: bool) -> Incident | None:
        found = self.opened.get(dedup_key)
        if found is not None or not resolving:
            return found
        return self.assumed

    def incident_by_id(self, incident_id: int) -> Incident | None:
        return self.by_id.get(incident_id)

    def open_lead(self, pipelines: tuple[str, ...], since: float) -> Incident | None:
        leads = [
            i
            for i in self.by_id.values()
            if i.pipeline in pipelines and i.members_open > 0 and i.opened_at >= since and i.lead in (None, i.id)
        ]
        return min(leads, key=lambda i: i.opened_at, default=None)

    def route(self, decision: Decision, *, slack: bool = True) -> Plan:
        """Plan ``decision`` as the server would, then remember what it opened."""
        from opsctl.router.plan import slack_channel

        if decision.alert.status == "resolved":
            channel = slack_channel(self.router.org, decision)
            found = decision.match
            failure = decision.alert.failure_key
            self.assumed = Incident(decision.dedup_key, failure, found.pipeline, found.team, True, True, bool(channel), channel)
        result = self.router.route(decision, self, slack=slack)
        after = result.incident
        if after is not None and result.effect in ("opened", "grouped"):
            number = after.id if after.id is not None else len(self.by_id) + 1
            after = replace(after, id=number, opened_alert=number)
            self.opened[after.dedup_key] = self.by_id[number] = after
        if result.lead is not None and result.lead.id is not None:
            self.by_id[result.lead.id] = result.lead
        return result
