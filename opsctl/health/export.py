"""The health report as JSON (``opsctl report --format json``): times in ISO 8601, durations in seconds."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from opsctl.health.report import Bucket, PersonRow, Report, Resolution, TeamRow


def seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def resolution_json(r: Resolution) -> dict[str, Any]:
    return {
        "goal_seconds": seconds(r.goal),
        "meets_goal": r.meets_goal,
        "resolved": r.resolved,
        "open": r.open,
        "mean_seconds": seconds(r.mean),
        "median_seconds": seconds(r.median),
        "p90_seconds": seconds(r.p90),
        "longest_seconds": seconds(r.longest),
        "within_goal": r.within_goal,
        "over_goal": r.over_goal,
        "open_over_goal": r.open_over_goal,
    }


def _scope(row: Any) -> dict[str, Any]:
    return asdict(row.tally) | {"time_to_resolve": resolution_json(row.resolution)}


def _team(row: TeamRow) -> dict[str, Any]:
    return {"team": row.team or None, "name": row.name} | _scope(row)


def _person(row: PersonRow) -> dict[str, Any]:
    rate = row.oncall_pages_per_week
    return {
        "person": row.person,
        "name": row.name,
        "timezone": row.timezone,
        "pages": row.pages,
        "as_owner": row.as_owner,
        "as_oncall": row.as_oncall,
        "as_lead": row.as_lead,
        "off_hours": row.off_hours,
        "night": row.night,
        "weekend": row.weekend,
        "holiday": row.holiday,
        "oncall_primary_hours": row.primary_hours,
        "oncall_secondary_hours": row.secondary_hours,
        "oncall_pages_per_week": None if rate is None else round(rate, 2),
        "fairness_flags": list(row.flags),
    }


def _bucket(bucket: Bucket) -> dict[str, Any]:
    return {
        "start": bucket.start.isoformat(),
        "alerts": bucket.alerts,
        "held": bucket.held,
        "pages_in_hours": bucket.pages_in_hours,
        "pages_off_hours": bucket.pages_off_hours,
        "resolved": bucket.resolved,
        "mean_to_resolve_seconds": seconds(bucket.mean_to_resolve),
    }


def report_json(report: Report) -> dict[str, Any]:
    """Everything the report shows, for scripts and dashboards."""
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "as_of": report.now.isoformat(timespec="seconds"),
        "team": report.team,
        "mttr_goal_seconds": seconds(report.goal),
        "total": _team(report.total),
        "teams": [_team(row) for row in report.teams],
        "pipelines": [
            {"pipeline": row.pipeline, "name": row.name, "team": row.team, "tier": row.tier} | _scope(row)
            for row in report.pipelines
        ],
        "failures": [
            {"key": row.key, "pipeline": row.pipeline, "team": row.team, "summary": row.summary} | _scope(row)
            for row in report.failures
        ],
        "people": [_person(row) for row in report.people],
        "series": {"zone": report.zone, "bucket": report.bucket, "buckets": [_bucket(b) for b in report.series]},
    }
