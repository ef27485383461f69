"""The freshness watchdog's decision: which pipelines went silent past their SLA. Pure.

A pipeline is *heard* when a source reports one of its runs succeeded (a dbt Cloud run, an
Airflow DAG run, a passing Great Expectations suite, a generic ``resolved``/``ok``) or when
it sends a heartbeat (``POST /v1/heartbeats/{pipeline}``); the store keeps the last time
(:class:`Seen`). A pipeline is *stale* once ``now`` is past its reference instant plus its
``freshness_sla`` plus its grace (:class:`Watch`). The reference is its last success; a
pipeline never heard from has none, and is not watched until it reports once, or until its
``watch_from`` instant, so adopting opsctl does not page every owner at once.

:func:`check` takes the watches, what the store has seen and ``now`` and returns the stale
alerts to raise and the stale incidents to resolve, as :class:`~opsctl.router.alert.Alert`
values that take the same decide → plan → store path as any failure
(:mod:`opsctl.router.routing`): chains, tier rules, coalescing, grouping and Slack messages
apply, and the dedup key ``opsctl:<pipeline>:stale`` is the same for every silence of one
pipeline, so repeats never page twice. A success resolves the incident with
:func:`fresh_again`.

Grace: the pipeline's ``freshness_grace``, else its tier's, else :data:`DEFAULT_GRACE_SHARE`
of the SLA, at least :data:`MIN_GRACE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from opsctl.model import Org, Pipeline
from opsctl.router.alert import Alert, Identifiers

SOURCE = "watchdog"
"""The ``source`` of the alerts the watchdog raises."""
FAILURE_KEY = "stale"
"""Every stale alert's failure: the dedup key is ``opsctl:<pipeline>:stale``."""
DEFAULT_GRACE_SHARE = 0.1
"""Without a grace set, a pipeline is stale a tenth of its SLA after the SLA ran out..."""
MIN_GRACE = timedelta(minutes=5)
"""... and at least five minutes after."""
SUCCESS_SOURCES = frozenset({"dbt-cloud", "airflow", "great-expectations", "generic"})
"""Sources whose resolved alerts say a run succeeded. An Alertmanager or Grafana resolve
says a condition stopped firing, not that the pipeline delivered: it does not count."""

State = Literal["fresh", "late", "stale", "unwatched"]
"""``late``: past its SLA, within the grace; ``unwatched``: never heard from, no start set or not yet."""
STATE_WORDS: dict[str, str] = {"fresh": "fresh", "late": "past its SLA", "stale": "stale", "unwatched": "never heard from"}


@dataclass(frozen=True)
class Watch:
    """How one pipeline is watched (seconds; ``start`` in Unix seconds, or None)."""

    pipeline: str
    sla: float
    grace: float
    start: float | None = None


@dataclass(frozen=True)
class Seen:
    """What the store holds for one pipeline (Unix seconds)."""

    pipeline: str
    last_success: float | None
    source: str = ""
    """What told it: a source name, or ``heartbeat``."""
    stale_at: float | None = None
    """When its open stale alert was raised; None while none is open."""
    reference: float | None = None
    """The reference instant of that stale alert (its last success, or its watch start)."""


@dataclass(frozen=True)
class Status:
    """One pipeline's freshness at ``now``, for ``opsctl alerts stale``, /metrics and the site."""

    pipeline: str
    sla: float
    grace: float
    last_success: float | None
    source: str
    state: State
    age: float | None
    """Seconds since the last success (None: never heard from)."""
    stale_in: float | None
    """Seconds until it goes stale (negative: stale for that long); None while unwatched."""
    alert_open: bool


@dataclass(frozen=True)
class Stale:
    """A stale alert to raise, and the facts it was decided on."""

    alert: Alert
    last_success: float | None
    """The pipeline's last success as the check read it (None: never heard from)."""
    reference: float
    """The instant its silence counts from: that success, or its watch start."""


@dataclass(frozen=True)
class Verdict:
    """What one check does: stale alerts to raise, stale incidents to resolve."""

    stale: tuple[Stale, ...] = ()
    fresh: tuple[Alert, ...] = ()


def grace_of(org: Org, pipeline: Pipeline) -> timedelta:
    """The pipeline's grace: its own, its tier's, else a share of its SLA (see the module docstring)."""
    if pipeline.freshness_grace is not None:
        return pipeline.freshness_grace
    tier = org.settings.tiers.get(pipeline.tier)
    if tier is not None and tier.freshness_grace is not None:
        return tier.freshness_grace
    return max(MIN_GRACE, pipeline.freshness_sla * DEFAULT_GRACE_SHARE)


def watch_start(org: Org, pipeline: Pipeline) -> datetime | None:
    """``watch_from`` as an instant: a date is midnight in the primary owner's zone, a datetime
    without an offset is in that zone too."""
    value = pipeline.watch_from
    if value is None:
        return None
    from opsctl.model.zones import zone

    owner = org.people.get(pipeline.primary)
    where = zone(owner.timezone) if owner is not None else UTC
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=where)
    assert isinstance(value, date)
    return datetime(value.year, value.month, value.day, tzinfo=where)


def watches(org: Org) -> list[Watch]:
    """Every pipeline's watch, in the order of ``ownership.yaml``."""
    out = []
    for pipeline in org.pipelines.values():
        start = watch_start(org, pipeline)
        out.append(
            Watch(
                pipeline.id,
                pipeline.freshness_sla.total_seconds(),
                grace_of(org, pipeline).total_seconds(),
                start.timestamp() if start is not None else None,
            )
        )
    return out


def _reference(watch: Watch, seen: Seen | None, now: float) -> float | None:
    """The instant the SLA counts from: the last success, else the watch start once reached."""
    if seen is not None and seen.last_success is not None:
        return seen.last_success
    if watch.start is not None and watch.start <= now:
        return watch.start
    return None


def status(watch: Watch, seen: Seen | None, now: float) -> Status:
    reference = _reference(watch, seen, now)
    last = seen.last_success if seen is not None else None
    source = seen.source if seen is not None else ""
    alert_open = seen is not None and seen.stale_at is not None
    if reference is None:
        return Status(watch.pipeline, watch.sla, watch.grace, last, source, "unwatched", None, None, alert_open)
    left = reference + watch.sla + watch.grace - now
    state: State = "stale" if left <= 0 else "late" if now - reference > watch.sla else "fresh"
    age = now - last if last is not None else None
    return Status(watch.pipeline, watch.sla, watch.grace, last, source, state, age, left, alert_open)


def report(watches: Iterable[Watch], seen: Mapping[str, Seen], now: float) -> list[Status]:
    """Every pipeline's freshness at ``now``: the soonest to go stale (or stale the longest) first,
    then the pipelines not watched yet, in the order of ``watches``."""
    found = [status(watch, seen.get(watch.pipeline), now) for watch in watches]
    return sorted(found, key=lambda s: (s.stale_in is None, s.stale_in if s.stale_in is not None else 0.0))


def status_json(found: Status) -> dict[str, object]:
    """``found`` as ``opsctl alerts stale --format json`` prints it."""
    return {
        "pipeline": found.pipeline,
        "state": found.state,
        "alert_open": found.alert_open,
        "last_success": _iso(found.last_success) if found.last_success is not None else None,
        "source": found.source or None,
        "age_seconds": None if found.age is None else round(found.age, 3),
        "freshness_sla_seconds": found.sla,
        "grace_seconds": found.grace,
        "stale_in_seconds": None if found.stale_in is None else round(found.stale_in, 3),
    }


def stale_in_words(found: Status) -> str:
    """How long until ``found`` goes stale, or since when it is: ``2 h 10 min``, ``stale for 35 min``."""
    if found.stale_in is None:
        return "not watched yet"
    if found.stale_in <= 0:
        return f"stale for {words(-found.stale_in)}"
    return words(found.stale_in)


def check(watches: Iterable[Watch], seen: Mapping[str, Seen], now: float) -> Verdict:
    """The stale alerts to raise and the stale incidents to resolve at ``now``.

    A stale pipeline whose alert is open raises nothing more (the incident pages once; the
    store's coalescing decides about repeats). A pipeline whose stale alert is open but
    that is no longer stale (its SLA grew) is resolved here; a success resolves it at once
    where it is recorded (:func:`fresh_again`).
    """
    stale: list[Stale] = []
    fresh: list[Alert] = []
    for watch in watches:
        found = seen.get(watch.pipeline)
        reference = _reference(watch, found, now)
        is_open = found is not None and found.stale_at is not None
        if reference is None:
            continue
        due = reference + watch.sla + watch.grace
        if now >= due and not is_open:
            last = found.last_success if found is not None else None
            stale.append(Stale(stale_alert(watch, found, reference, now), last, reference))
        elif now < due and is_open and found is not None:
            fresh.append(_fresh_alert(watch.pipeline, f"no longer stale: its SLA is now {words(watch.sla)}", now))
    return Verdict(tuple(stale), tuple(fresh))


def stale_alert(watch: Watch, seen: Seen | None, reference: float, now: float) -> Alert:
    """The alert of a pipeline silent since ``reference``: "no successful run for 5 h 10 min, SLA 4 h"."""
    last = seen.last_success if seen is not None else None
    silent = words(now - reference)
    if last is not None:
        summary = f"no successful run for {silent}, SLA {words(watch.sla)}"
    else:
        summary = f"no successful run since watching began {silent} ago, SLA {words(watch.sla)}"
    details = {
        "last_success": _iso(last) if last is not None else None,
        "last_source": seen.source if last is not None and seen is not None else None,
        "freshness_sla": words(watch.sla),
        "grace": words(watch.grace),
        "silent_for": silent,
    }
    return Alert(
        source=SOURCE,
        status="firing",
        summary=summary,
        event_key=f"stale:{watch.pipeline}:{reference:.3f}",
        failure_key=FAILURE_KEY,
        ids=Identifiers(names=(watch.pipeline,)),
        severity="error",
        occurred_at=_iso(now),
        details={key: value for key, value in details.items() if value is not None},
    )


def fresh_again(pipeline: str, source: str, stale_at: float, now: float) -> Alert:
    """The resolve of ``pipeline``'s stale alert, raised at ``stale_at``, by a success from ``source``."""
    what = "a heartbeat" if source == "heartbeat" else f"a successful run ({source})"
    return _fresh_alert(pipeline, f"{what} after {words(now - stale_at)} stale", now)


def _fresh_alert(pipeline: str, summary: str, now: float) -> Alert:
    return Alert(
        source=SOURCE,
        status="resolved",
        summary=summary,
        event_key=f"fresh:{pipeline}:{now:.3f}",
        failure_key=FAILURE_KEY,
        ids=Identifiers(names=(pipeline,)),
        occurred_at=_iso(now),
    )


def is_success(source: str, status: str) -> bool:
    """Whether a routed alert of ``source`` with ``status`` says a run succeeded."""
    return status == "resolved" and source in SUCCESS_SOURCES


def words(seconds: float) -> str:
    """A span as people say it: ``45 s``, ``12 min``, ``5 h 10 min``, ``2 d 3 h``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")
