"""Which pipeline an alert is about, and whom its failure pages (SPEC §6). Pure.

:func:`decide` takes the org, the schedule engine, the instant and an alert and returns a
:class:`Decision`: the matched pipeline (or the team an unmatched alert goes to), the
escalation chain of :func:`opsctl.engine.escalation.escalation_chain` at that instant, the
PagerDuty dedup key and the routing-key target. ``opsctl route`` prints it; the server
stores it with the alert.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from opsctl.engine.escalation import Chain, escalation_chain
from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org, Pipeline
from opsctl.router.alert import Alert

MAX_DEDUP_KEY = 255
"""PagerDuty's limit on ``dedup_key``."""


def normalize(name: str) -> str:
    """Names as people type them: case, spaces, ``-`` and ``_`` do not matter."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


class AlertIndex:
    """Lookup tables from alert identifiers to pipeline ids, built once per org."""

    def __init__(self, org: Org) -> None:
        self.ids: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.dag_ids: dict[str, str] = {}
        self.dbt_jobs: dict[str, str] = {}
        self.suites: dict[str, str] = {}
        labelled: list[tuple[str, dict[str, str]]] = []
        for pipeline in org.pipelines.values():
            self.ids.setdefault(normalize(pipeline.id), pipeline.id)
            found = pipeline.alerts
            for alias in found.aliases:
                self.aliases.setdefault(normalize(alias), pipeline.id)
            for dag in found.dag_ids:
                self.dag_ids.setdefault(dag, pipeline.id)
            for job in found.dbt_job_ids:
                self.dbt_jobs.setdefault(str(job), pipeline.id)
            for suite in found.expectation_suites:
                self.suites.setdefault(suite, pipeline.id)
            if found.labels:
                labelled.append((pipeline.id, dict(found.labels)))
        # the most specific label set wins; among equals, the first in ownership.yaml
        self.labelled = sorted(labelled, key=lambda item: -len(item[1]))

    def by_name(self, name: str) -> tuple[str, str] | None:
        key = normalize(name)
        if key in self.ids:
            return self.ids[key], f"pipeline id {name!r}"
        if key in self.aliases:
            return self.aliases[key], f"alias {name!r}"
        return None


@dataclass(frozen=True)
class Match:
    """The pipeline an alert is about, or the team that takes it when there is none."""

    pipeline: str | None
    team: str
    reason: str
    """How it matched (``Airflow dag_id 'x'``), or why it did not and where it goes."""


def match_alert(org: Org, index: AlertIndex, alert: Alert) -> Match:
    """Identifiers the pipeline declared first, then names the alert spells out, then labels."""
    ids = alert.ids
    tried: list[str] = []
    found: tuple[str, str] | None = None
    if ids.dag_id is not None:
        tried.append(f"dag_id {ids.dag_id!r}")
        if ids.dag_id in index.dag_ids:
            found = index.dag_ids[ids.dag_id], f"Airflow dag_id {ids.dag_id!r}"
    if found is None and ids.dbt_job_id is not None:
        tried.append(f"dbt job {ids.dbt_job_id!r}")
        if ids.dbt_job_id in index.dbt_jobs:
            found = index.dbt_jobs[ids.dbt_job_id], f"dbt Cloud job {ids.dbt_job_id!r}"
    if found is None and ids.expectation_suite is not None:
        tried.append(f"expectation suite {ids.expectation_suite!r}")
        if ids.expectation_suite in index.suites:
            found = index.suites[ids.expectation_suite], f"expectation suite {ids.expectation_suite!r}"
    if found is None:
        for pipeline_id, wanted in index.labelled:
            if all(ids.labels.get(key) == value for key, value in wanted.items()):
                spelled = ", ".join(f"{key}={value}" for key, value in sorted(wanted.items()))
                found = pipeline_id, f"labels {spelled}"
                break
    if found is None:
        # names the alert spells out, then its other identifiers read as pipeline ids or aliases
        tried.extend(f"name {name!r}" for name in ids.names)
        for name in [*ids.names, *(x for x in (ids.dag_id, ids.expectation_suite) if x)]:
            found = index.by_name(name)
            if found is not None:
                break
    if found is not None:
        pipeline_id, how = found
        return Match(pipeline_id, org.pipelines[pipeline_id].team, f"matched by {how}")
    default = org.settings.default_team or next(iter(org.teams), "")
    if ids.team and ids.team in org.teams:
        team, where = ids.team, f"the on-call of team {ids.team!r}, which the alert names"
    else:
        team, where = default, f"the on-call of the default team {default!r}"
    looked = f"no pipeline matches {', '.join(tried)}" if tried else "the alert names no pipeline"
    return Match(None, team, f"{looked}: it goes to {where}")


@dataclass(frozen=True)
class Decision:
    """Everything routing decides about one alert at one instant."""

    alert: Alert
    match: Match
    chain: Chain
    dedup_key: str
    routing_target: str
    """See :func:`routing_target`; the key itself is looked up when the event is sent."""
    at: datetime


def dedup_key(match: Match, alert: Alert) -> str:
    """Stable per pipeline (or team) and failure: repeats and retries never open a second incident."""
    scope = match.pipeline if match.pipeline is not None else f"team:{match.team}"
    key = f"opsctl:{scope}:{alert.failure_key}"
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return f"opsctl:{scope[:100]}:{hashlib.sha256(alert.failure_key.encode()).hexdigest()}"


class ChainCache:
    """Escalation chains per (pipeline or team, whole second).

    Every boundary a chain depends on (shift handoffs, overrides, time off, holidays,
    working hours) is written in whole seconds at most, so any instant of a second has
    the chain of the second's start: an alert storm computes one chain per pipeline per
    second, not one per alert, and gets the same answer.
    """

    def __init__(self, org: Org, engine: Engine, *, size: int = 4096) -> None:
        self.org = org
        self.engine = engine
        self.size = size
        self._chains: dict[tuple[str | None, str, datetime], Chain] = {}

    def chain(self, pipeline: Pipeline | None, team: str, at: datetime) -> Chain:
        second = at.replace(microsecond=0)
        key = (pipeline.id if pipeline else None, team, second)
        found = self._chains.get(key)
        if found is None:
            if len(self._chains) >= self.size:
                self._chains.clear()
            found = self._chains[key] = escalation_chain(self.org, self.engine, second, pipeline, team)
        return found


def decide(
    org: Org, engine: Engine, index: AlertIndex, alert: Alert, at: datetime, *, chains: ChainCache | None = None
) -> Decision:
    found = match_alert(org, index, alert)
    pipeline = org.pipelines.get(found.pipeline) if found.pipeline else None
    if chains is not None:
        chain = chains.chain(pipeline, found.team, at)
    else:
        chain = escalation_chain(org, engine, at, pipeline, found.team)
    return Decision(alert, found, chain, dedup_key(found, alert), routing_target(found.pipeline, found.team), at)


def routing_target(pipeline: str | None, team: str) -> str:
    """Whose PagerDuty routing key an alert uses: ``pipeline:<id>|team:<id>`` (the pipeline's
    key, else its team's) or ``team:<id>`` for an alert that matched no pipeline."""
    return f"pipeline:{pipeline}|team:{team}" if pipeline else f"team:{team}"
