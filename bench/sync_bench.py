"""API calls and wall time of `opsctl sync` and `opsctl notify handoff`, on the example org and on
the synthetic large org, against the loopback fakes of PagerDuty and Slack (the real client
libraries, every request checked against the vendors' API descriptions).

For each org: the plan on an empty account (reads), the first apply (writes), then a plan
and an apply with nothing to change (goal: 0 writes), and the same for Slack and handoffs.
Wall times include the fakes' request checks, which cost more than the real network saves.

    python bench/sync_bench.py [--skip-large]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from generate_org import generate
from timing import ROOT, WORK

sys.path.insert(0, str(ROOT))  # the fakes live in tests/

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = action()
    return value, time.perf_counter() - start


def row(label: str, reads: int, writes: int, seconds: float, extra: str = "") -> None:
    print(f"  {label:<34} {reads:>6} reads {writes:>6} writes {seconds * 1000:>9.0f} ms  {extra}")


def bench_pagerduty(org: Any, engine: Any) -> None:
    from opsctl.sync import pagerduty
    from opsctl.sync.pagerduty_desired import desired_pagerduty
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.pagerduty_api import rest_client
    from tests.fakes.pagerduty_rest import PagerDutyFake

    fake = PagerDutyFake({p.email: p.name for p in org.people.values()}, tokens={"bench"})
    fake.start()
    try:
        client = rest_client(VendorConfig(pagerduty_token="bench", pagerduty_api_url=fake.url))
        desired, seconds = timed(lambda: desired_pagerduty(org, engine, NOW))
        overrides = sum(len(s.overrides) for s in desired.schedules)
        print(
            f"  desired state: {len(desired.schedules)} schedules with {overrides} overrides, "
            f"{len(desired.policies)} policies, {len(desired.services)} services in {seconds * 1000:.0f} ms"
        )
        for attempt in ("first", "again"):
            fake.reset_counts()
            actual, seconds = timed(lambda: pagerduty.fetch_actual(client, since=NOW, until=desired.until))
            plan, diffing = timed(lambda: pagerduty.diff(desired, actual))  # noqa: B023 (called at once)
            row(
                f"PagerDuty plan ({attempt})",
                fake.reads(),
                fake.writes(),
                seconds + diffing,
                f"{len(plan.changes)} changes; the diff itself {diffing * 1000:.0f} ms",
            )
            fake.reset_counts()
            _, seconds = timed(lambda: pagerduty.apply(client, plan))  # noqa: B023 (called at once)
            row(f"PagerDuty apply ({attempt})", fake.reads(), fake.writes(), seconds)
        if fake.writes() != 0 or fake.rejected:
            raise SystemExit(f"a no-change apply wrote {fake.writes()} times; rejected: {fake.rejected[:3]}")
    finally:
        fake.stop()


def bench_slack(org: Any, engine: Any) -> None:
    from opsctl.sync import slack
    from opsctl.sync.handoff import notify_handoffs
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.slack_api import slack_client
    from tests.fakes.slack import ALL_SCOPES, SlackFake

    writes_of = {
        "usergroups.create",
        "usergroups.update",
        "usergroups.users.update",
        "conversations.setTopic",
        "chat.postMessage",
    }
    users = {p.email.lower(): p.slack_id or f"U{i:09d}" for i, p in enumerate(org.people.values())}
    fake = SlackFake(users=users, tokens={"xoxb-bench": ALL_SCOPES | {"channels:manage"}})
    for team in org.teams.values():
        if team.slack_channel:
            fake.add_channel(team.slack_channel)
    fake.start()

    def counts() -> tuple[int, int]:
        # slack_sdk posts reads too: a write is told by its method
        writes = sum(r.path.removeprefix("/api/") in writes_of for r in fake.requests)
        return len(fake.requests) - writes, writes

    try:
        client = slack_client(VendorConfig(slack_token="xoxb-bench", slack_api_url=fake.url + "/api/"))
        desired = slack.desired_slack(org, engine, NOW)
        for attempt in ("first", "again"):
            fake.reset_counts()
            plan, seconds = timed(lambda: slack.diff(desired, slack.fetch_actual(client, desired)))
            row(f"Slack plan ({attempt})", *counts(), seconds, f"{len(plan.changes)} changes")
            fake.reset_counts()
            _, seconds = timed(lambda: slack.apply(client, plan))  # noqa: B023 (called at once)
            row(f"Slack apply ({attempt})", *counts(), seconds)
        if counts()[1] != 0:
            raise SystemExit("a no-change Slack apply wrote")
        for attempt in ("first", "again"):
            fake.reset_counts()
            _, seconds = timed(lambda: notify_handoffs(client, org, engine, NOW))
            row(f"notify handoff ({attempt})", *counts(), seconds)
        if counts()[1] != 0:
            raise SystemExit("a repeated handoff posted again")
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-large", action="store_true", help="Only the example org.")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # werkzeug's request log

    from opsctl.engine.schedule.resolve import Engine
    from opsctl.repo.loader import load_working_tree
    from opsctl.system.environment import cache_folder, current
    from opsctl.system.holidays import default_calendar

    large = WORK / "large"
    if not args.skip_large and not (large / "ownership.yaml").exists():
        generate(large)
    calendar = default_calendar(Path(cache_folder(current())))
    for label, root in [("example org", ROOT), *([] if args.skip_large else [("large org", large)])]:
        org = load_working_tree(root).require_ok()
        sizes = (
            f"{len(org.people)} people, {len(org.teams)} teams, {len(org.rotations)} rotations, {len(org.pipelines)} pipelines"
        )
        print(f"{label}: {sizes}")
        bench_pagerduty(org, Engine(org, calendar))
        bench_slack(org, Engine(org, calendar))
    calendar.save()


if __name__ == "__main__":
    main()
