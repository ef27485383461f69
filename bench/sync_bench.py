"""API calls, 429s and time of `opsctl sync` and `opsctl notify handoff`, on the example org and
on the synthetic large org, against the loopback fakes of PagerDuty and Slack (the real client
libraries, every request checked against the vendors' API descriptions, the vendors' rate
limits enforced).

For each org and each of three instants (inside a shift, across a handoff, and with
overrides straddling the horizon): the plan on an empty account, the first apply, a re-plan
and a second apply (goal: no changes, no writes), the managed schedules and overrides, the
429s met, the wall time, and the time the vendors' rate limits make it take (the pacers
wait on a simulated clock, so the benchmark does not sleep for them). Then the same for
Slack, and the handoff messages.

    python bench/sync_bench.py [--skip-large] [--instants N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from generate_org import generate
from timing import ROOT, WORK

sys.path.insert(0, str(ROOT))  # the fakes live in tests/

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T = TypeVar("T")
INSTANTS = [
    ("inside a shift", timedelta(0)),
    ("across a handoff", timedelta(days=33, hours=7, minutes=41)),
    ("DST, overrides past the horizon", timedelta(days=125, hours=1, minutes=30)),
]


def row(label: str, reads: int, writes: int, seconds: float, paced: float, extra: str = "") -> None:
    print(f"    {label:<24} {reads:>6} reads {writes:>6} writes {seconds:>7.1f} s wall {paced:>7.0f} s paced  {extra}")


def measured(label: str, fake: Any, clock: Any, action: Callable[[], T], say: Callable[[T], str]) -> T:
    """Run ``action`` and print its reads, writes, wall time and paced (simulated) time."""
    fake.reset_counts()
    start, paced = time.perf_counter(), clock.monotonic()
    value = action()
    row(label, fake.reads(), fake.writes(), time.perf_counter() - start, clock.monotonic() - paced, say(value))
    return value


def bench_pagerduty(org: Any, engine: Any, now: datetime) -> None:
    from opsctl.sync import pagerduty
    from opsctl.sync.marker import read_marker
    from opsctl.sync.pagerduty_desired import desired_pagerduty
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.pagerduty_api import rest_client, rest_pacer
    from tests.fakes.base import SimClock
    from tests.fakes.pagerduty_rest import PagerDutyFake

    fake = PagerDutyFake({p.email: p.name for p in org.people.values()}, tokens={"bench"})
    clock = SimClock(now)
    fake.clock = clock
    fake.start()
    try:
        desired = desired_pagerduty(org, engine, now)
        print(
            f"    desired: {len(desired.schedules)} schedules, {sum(len(s.overrides) for s in desired.schedules)} overrides, "
            f"{len(desired.policies)} policies, {len(desired.services)} services"
        )
        for attempt in ("first", "again"):
            client = rest_client(VendorConfig(pagerduty_token="bench", pagerduty_api_url=fake.url), pacer=rest_pacer(clock))
            plan = measured(
                f"plan ({attempt})",
                fake,
                clock,
                lambda: pagerduty.diff(desired, pagerduty.fetch_actual(client, since=now, until=desired.until)),  # noqa: B023
                lambda plan: f"{len(plan.changes)} changes, drift: {plan.drift}",
            )
            measured(
                f"apply ({attempt})",
                fake,
                clock,
                lambda: pagerduty.apply(client, plan),  # noqa: B023
                lambda result: "complete" if result.complete else result.problem(),
            )
        schedules = [s for s in fake.schedules.values() if read_marker(s["description"])]
        overrides = sum(len(fake.overrides.get(s["id"], {})) for s in schedules)
        print(f"    managed: {len(schedules)} schedules, {overrides} overrides; 429s met: {fake.rate_limited}")
        if fake.writes() != 0 or plan.changes or plan.drift or fake.rejected:
            raise SystemExit(f"a no-change apply wrote {fake.writes()} times; rejected: {fake.rejected[:3]}")
    finally:
        fake.stop()


def bench_slack(org: Any, engine: Any, now: datetime) -> None:
    from opsctl.sync import slack
    from opsctl.sync.handoff import notify_handoffs
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.slack_api import slack_client, slack_pacer
    from tests.fakes.base import SimClock
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
    clock = SimClock(now)
    fake.clock = clock
    fake.tiers = True
    for team in org.teams.values():
        if team.slack_channel:
            fake.add_channel(team.slack_channel)
    fake.start()

    def counts() -> tuple[int, int]:
        # slack_sdk posts reads too: a write is told by its method
        writes = sum(r.path.removeprefix("/api/") in writes_of for r in fake.requests)
        return len(fake.requests) - writes, writes

    try:
        client = slack_client(VendorConfig(slack_token="xoxb-bench", slack_api_url=fake.url + "/api/"), pacer=slack_pacer(clock))
        desired = slack.desired_slack(org, engine, now)
        for attempt in ("first", "again"):
            fake.reset_counts()
            start, paced = time.perf_counter(), clock.monotonic()
            plan = slack.diff(desired, slack.fetch_actual(client, desired))
            row(
                f"Slack plan ({attempt})",
                *counts(),
                time.perf_counter() - start,
                clock.monotonic() - paced,
                f"{len(plan.changes)} changes",
            )
            fake.reset_counts()
            start, paced = time.perf_counter(), clock.monotonic()
            slack.apply(client, plan)
            row(f"Slack apply ({attempt})", *counts(), time.perf_counter() - start, clock.monotonic() - paced)
        if counts()[1] != 0:
            raise SystemExit("a no-change Slack apply wrote")
        for attempt in ("first", "again"):
            fake.reset_counts()
            start, paced = time.perf_counter(), clock.monotonic()
            notify_handoffs(client, org, engine, clock.wall())
            row(f"notify handoff ({attempt})", *counts(), time.perf_counter() - start, clock.monotonic() - paced)
        print(f"    429s met: {fake.rate_limited}")
        if counts()[1] != 0:
            raise SystemExit("a repeated handoff posted again")
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-large", action="store_true", help="Only the example org.")
    parser.add_argument("--instants", type=int, default=len(INSTANTS), help="How many of the instants to run.")
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
        for name, offset in INSTANTS[: args.instants]:
            now = NOW + offset
            print(f"  PagerDuty at {now:%Y-%m-%d %H:%M} UTC ({name})")
            bench_pagerduty(org, Engine(org, calendar), now)
        print(f"  Slack at {NOW:%Y-%m-%d %H:%M} UTC")
        bench_slack(org, Engine(org, calendar), NOW)
    calendar.save()


if __name__ == "__main__":
    main()
