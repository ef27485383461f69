"""Storms: repeats coalesced and counted, failures grouped by a shared data source, events
paced per routing key; and what users read about them (opsctl alerts, Slack, opsctl route)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.router.store import open_store
from opsctl.router.store.records import Delivery
from opsctl.router.worker import PAGERDUTY_EVENTS_PER_MINUTE, Worker, WorkerConfig
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.routing_keys import RoutingKeyFile
from tests.router_support import clock_at, running_router, wait_until
from tests.support import REPO_ROOT, run

ORG: Org = load_working_tree(REPO_ROOT).require_ok()
WEDNESDAY_MORNING = datetime.fromisoformat("2026-12-02T10:00+01:00")


def freshness(pipeline: str, fingerprint: str, status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "Freshness", "pipeline": pipeline},
                "annotations": {"summary": f"{pipeline} is late"},
                "startsAt": "2026-12-02T08:00:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


def test_repeats_are_counted_not_sent_and_shown(tmp_path: Path) -> None:
    with running_router(tmp_path, ORG, clock=clock_at(WEDNESDAY_MORNING)) as router:
        for run_id in range(30):
            body = {"dag_id": "aggregate_profit_investors", "task_id": "t", "run_id": f"r{run_id}", "exception": "boom"}
            assert router.post("airflow", body).status == 202
        wait_until(router.settled)
        assert len(router.pd.events) == 1  # one trigger for the failure, 29 repeats counted
        db = ["alerts", "--db", str(router.db_path)]
        listed = json.loads(run(*db, "list", "--format", "json", "--limit", "100", root=REPO_ROOT).stdout)
        assert [row["coalesced"] for row in listed if row["effect"] == "opened"] == [29]
        shown = run(*db, "show", "1", root=REPO_ROOT).stdout
        assert "  repeats    29 coalesced into its incident: counted, not sent again\n" in shown
        repeat = run(*db, "show", "2", root=REPO_ROOT).stdout
        assert "  note       repeat of an open incident: counted, not sent (" in repeat
        table = run(*db, "list", root=REPO_ROOT).stdout
        assert "(29 repeats)" in table


def test_a_repeat_after_the_refresh_interval_sends_the_trigger_again(tmp_path: Path) -> None:
    from opsctl.router.routing import RoutingPolicy

    now = [WEDNESDAY_MORNING.timestamp()]
    moving = clock_at(WEDNESDAY_MORNING)

    def clock() -> datetime:
        return datetime.fromtimestamp(moving().timestamp() + now[0] - WEDNESDAY_MORNING.timestamp(), WEDNESDAY_MORNING.tzinfo)

    with running_router(tmp_path, ORG, clock=clock, policy=RoutingPolicy(refresh=600)) as router:
        body = {"dag_id": "aggregate_profit_investors", "run_id": "r1"}
        router.post("airflow", body)
        wait_until(router.settled)
        router.post("airflow", body | {"run_id": "r2"})  # a minute later: counted
        now[0] += 601  # past the refresh interval: the next repeat refreshes PagerDuty
        refreshed = router.post("airflow", body | {"run_id": "r3"}).json()["alerts"][0]["note"]
        assert refreshed.startswith("repeat of an open incident: its trigger is sent again, 10 min after the last")
        wait_until(router.settled)
        assert [e["event_action"] for e in router.pd.events] == ["trigger", "trigger"]
        assert router.pd.pages() == 1


def test_failures_sharing_a_data_source_page_once_and_say_why(tmp_path: Path) -> None:
    with running_router(tmp_path, ORG, clock=clock_at(WEDNESDAY_MORNING)) as router:
        first = router.post("alertmanager", freshness("aggregate_growth_investors", "g1")).json()["alerts"][0]
        second = router.post("alertmanager", freshness("aggregate_engagement_investors", "e1")).json()["alerts"][0]
        assert first["note"] == "opens an incident"
        assert second["note"].startswith(
            "grouped: aggregate_engagement_investors reads Accounts database, like Aggregate Growth for Investors "
            "(aggregate_growth_investors), which failed 0 min earlier: attached to its incident"
        )
        wait_until(router.settled)
        assert router.pd.pages() == 1 and len(router.pd.events) == 1
        channel = router.slack.channel("#data-eng-alerts")
        assert channel is not None
        post, reply = channel.messages
        assert reply["text"].startswith(
            ":link: Also failing: *Aggregate Engagement for Investors (aggregate_engagement_investors)*: Freshness: "
            "aggregate_engagement_investors is late\nGrouped: aggregate_engagement_investors reads Accounts database, "
            "like Aggregate Growth for Investors (aggregate_growth_investors), which failed 0 min earlier. "
            "Accounts database: 2 pipelines failing; one incident, paged once, not this pipeline's owners."
        )
        threads = [r.body.get("thread_ts") for r in router.slack.requests if r.path.endswith("chat.postMessage")]
        assert post["ts"] in threads
        # only the engagement pipeline's owner would have been paged by it: nobody was
        owner = router.slack.users[ORG.people["de1"].email]
        dm = router.slack.dm_with(owner)
        assert dm is None or not dm.messages
        shown = run("alerts", "--db", str(router.db_path), "show", str(first["id"]), root=REPO_ROOT).stdout
        assert "  grouped    1 other failure attached to its incident\n" in shown
        joined = run("alerts", "--db", str(router.db_path), "show", str(second["id"]), root=REPO_ROOT).stdout
        assert f"  group      attached to the incident of alert {first['id']}" in joined
        # the incident resolves once every failure in it has
        router.post("alertmanager", freshness("aggregate_growth_investors", "g1", "resolved"))
        wait_until(router.settled)
        assert [e["event_action"] for e in router.pd.events] == ["trigger"]
        router.post("alertmanager", freshness("aggregate_engagement_investors", "e1", "resolved"))
        wait_until(router.settled)
        assert [e["event_action"] for e in router.pd.events] == ["trigger", "resolve"]
        assert router.pd.incidents[0].status == "resolved"
        texts = [m["text"] for m in channel.messages]
        assert texts[2].startswith(":white_check_mark: *Aggregate Growth for Investors (aggregate_growth_investors)* recovered")
        assert texts[3].startswith(":white_check_mark: Resolved: *Aggregate Engagement for Investors")
        store = open_store(str(router.db_path))
        with store.connection() as conn:
            routed = store.routed(conn, 0, 2e9)
        assert [(r.pipeline, r.grouped, r.group_of, r.shared_source, bool(r.paged)) for r in routed] == [
            ("aggregate_growth_investors", 1, None, "Accounts database", True),
            ("aggregate_engagement_investors", 0, first["id"], "Accounts database", False),
        ]
        assert all(r.resolved_at is not None for r in routed)
        assert routed[0].paged_at is not None and routed[0].paged == ("de4", "de3", "de1")


def test_grouping_off_pages_each_failure(tmp_path: Path) -> None:
    from opsctl.router.routing import RoutingPolicy

    with running_router(tmp_path, ORG, clock=clock_at(WEDNESDAY_MORNING), policy=RoutingPolicy(group_window=0)) as router:
        router.post("alertmanager", freshness("aggregate_growth_investors", "g1"))
        router.post("alertmanager", freshness("aggregate_engagement_investors", "e1"))
        wait_until(router.settled)
        assert router.pd.pages() == 2


def test_events_are_paced_per_routing_key_within_pagerdutys_limit(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"version": 1, "teams": {"data-eng": "k1", "platform": "k2"}}))
    worker = Worker(WorkerConfig(str(tmp_path / "unused.sqlite3"), VendorConfig(), str(keys)))
    worker.keys = RoutingKeyFile(keys)
    turns = {
        target: [worker._pacing_turn(Delivery(n, n, "pagerduty", "trigger", target, 0, "{}", 0, 0.0), 1000.0) for n in range(300)]
        for target in ("team:data-eng", "team:platform")
    }
    for target, times in turns.items():
        # a burst of a tenth of a minute's worth, then evenly spread: never more than 120 in any minute
        assert times[:12] == [1000.0] * 12, target
        assert all(later >= earlier for earlier, later in itertools.pairwise(times))
        for start in range(len(times)):
            window = [t for t in times[start:] if t < times[start] + 60.0]
            assert len(window) <= PAGERDUTY_EVENTS_PER_MINUTE, (target, start)
    assert turns["team:data-eng"] == turns["team:platform"]  # each key has its own budget


def test_a_burst_to_one_routing_key_meets_no_429(tmp_path: Path) -> None:
    from opsctl.router.routing import RoutingPolicy

    with running_router(tmp_path, ORG, clock=clock_at(WEDNESDAY_MORNING), policy=RoutingPolicy(group_window=0)) as router:
        for number in range(20):
            router.post("generic", {"summary": f"check {number}", "dedup_key": f"c{number}", "team": "platform"})
        wait_until(router.settled, timeout=30)
        assert router.pd.pages() == 20
        assert router.pd.throttled() == 0
