"""``/metrics`` in the Prometheus text format, without a client library.

The server counts what it accepts and rejects (per process); the worker keeps its
delivery counters and the accepted → delivered histogram in the database's ``counters``
table, so they survive restarts and reach the server across processes. The freshness
gauges (:func:`freshness_lines`) are read from the store's ``freshness`` table at each scrape.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence

from opsctl.router.freshness import Status
from opsctl.router.worker import LATENCY_BUCKETS

ACCEPT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.sum = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    self.counts[index] += 1
            self.sum += value
            self.count += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{bound}"}} {count}' for bound, count in zip(self.buckets, self.counts, strict=True)]
        out += [f'{name}_bucket{{le="+Inf"}} {self.count}', f"{name}_sum {self.sum:.6f}", f"{name}_count {self.count}"]
        return out


class IntakeMetrics:
    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.accept_latency = Histogram(ACCEPT_BUCKETS)


def _metric(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def _labelled(name: str, counter: Counter[str], label: str) -> list[str]:
    return [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(counter.items())]


def render(
    intake: IntakeMetrics,
    stored: dict[str, float],
    *,
    queue_depth: int,
    failed: int,
    commits: int,
    jobs: int,
) -> str:
    """The whole exposition; ``stored`` is the worker's ``counters`` table."""
    lines: list[str] = []
    lines += _metric(
        "opsctl_alerts_accepted_total",
        "counter",
        "Alerts stored (fsynced) and answered 202.",
        _labelled("opsctl_alerts_accepted_total", intake.accepted, "source"),
    )
    lines += _metric(
        "opsctl_alerts_duplicate_total",
        "counter",
        "Notifications recognised as a repeat of one already stored.",
        _labelled("opsctl_alerts_duplicate_total", intake.duplicates, "source"),
    )
    lines += _metric(
        "opsctl_alerts_ignored_total",
        "counter",
        "Valid notifications with nothing to route (a dbt run that started).",
        _labelled("opsctl_alerts_ignored_total", intake.ignored, "source"),
    )
    rejected = [
        f'opsctl_requests_rejected_total{{source="{s}",reason="{r}"}} {n}' for (s, r), n in sorted(intake.rejected.items())
    ]
    lines += _metric("opsctl_requests_rejected_total", "counter", "Requests answered 4xx.", rejected)
    lines += _metric(
        "opsctl_accept_latency_seconds",
        "histogram",
        "Request received to 202 sent, fsync included.",
        intake.accept_latency.lines("opsctl_accept_latency_seconds"),
    )
    kinds = ("pagerduty", "slack-channel", "slack-dm")
    for name, key, help_text in (
        ("opsctl_deliveries_delivered_total", "delivered_total", "Messages delivered."),
        ("opsctl_deliveries_failed_total", "failed_total", "Messages kept as failed (retry with opsctl alerts retry)."),
        ("opsctl_delivery_attempt_errors_total", "attempt_errors_total", "Attempts that failed and were scheduled again."),
    ):
        samples = [f'{name}{{kind="{kind}"}} {stored.get(f"{key}:{kind}", 0):.0f}' for kind in kinds]
        lines += _metric(name, "counter", help_text, samples)
    lines += _metric(
        "opsctl_outbox_queue_depth", "gauge", "Messages waiting to be delivered.", [f"opsctl_outbox_queue_depth {queue_depth}"]
    )
    lines += _metric("opsctl_outbox_failed", "gauge", "Messages kept as failed now.", [f"opsctl_outbox_failed {failed}"])
    buckets = [
        f'opsctl_delivery_latency_seconds_bucket{{le="{b}"}} {stored.get(f"delivery_latency_bucket:{b}", 0):.0f}'
        for b in LATENCY_BUCKETS
    ]
    count = stored.get("delivery_latency_count", 0)
    buckets += [
        f'opsctl_delivery_latency_seconds_bucket{{le="+Inf"}} {count:.0f}',
        f"opsctl_delivery_latency_seconds_sum {stored.get('delivery_latency_sum', 0):.6f}",
        f"opsctl_delivery_latency_seconds_count {count:.0f}",
    ]
    lines += _metric("opsctl_delivery_latency_seconds", "histogram", "Alert accepted to message delivered.", buckets)
    lines += _metric(
        "opsctl_worker_heartbeat_timestamp_seconds",
        "gauge",
        "When the delivery worker last looked at the outbox (Unix time).",
        [f"opsctl_worker_heartbeat_timestamp_seconds {stored.get('heartbeat', 0):.3f}"],
    )
    lines += _metric(
        "opsctl_outbox_commits_total",
        "counter",
        "Transactions (fsyncs) of the intake.",
        [f"opsctl_outbox_commits_total {commits}"],
    )
    lines += _metric(
        "opsctl_outbox_jobs_total", "counter", "Requests stored by those transactions.", [f"opsctl_outbox_jobs_total {jobs}"]
    )
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def freshness_lines(statuses: Sequence[Status]) -> str:
    """Per pipeline: seconds since its last success (pipelines heard from), its SLA, its grace,
    and whether its stale alert is open."""
    ages = [
        f'opsctl_pipeline_last_success_age_seconds{{pipeline="{_label(s.pipeline)}"}} {s.age:.3f}'
        for s in statuses
        if s.age is not None
    ]
    lines = _metric(
        "opsctl_pipeline_last_success_age_seconds",
        "gauge",
        "Seconds since the pipeline's last successful run or heartbeat (pipelines never heard from are left out).",
        ages,
    )
    lines += _metric(
        "opsctl_pipeline_freshness_sla_seconds",
        "gauge",
        "The pipeline's freshness SLA.",
        [f'opsctl_pipeline_freshness_sla_seconds{{pipeline="{_label(s.pipeline)}"}} {s.sla:.0f}' for s in statuses],
    )
    lines += _metric(
        "opsctl_pipeline_freshness_grace_seconds",
        "gauge",
        "How long past its SLA a silent pipeline waits before it is paged as stale.",
        [f'opsctl_pipeline_freshness_grace_seconds{{pipeline="{_label(s.pipeline)}"}} {s.grace:.0f}' for s in statuses],
    )
    lines += _metric(
        "opsctl_pipeline_stale",
        "gauge",
        "1 while the pipeline's stale alert is open.",
        [f'opsctl_pipeline_stale{{pipeline="{_label(s.pipeline)}"}} {int(s.alert_open)}' for s in statuses],
    )
    return "\n".join(lines) + "\n"
