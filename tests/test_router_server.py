"""The router end to end: a live server on loopback, a real SQLite file, the delivery worker,
and the PagerDuty and Slack fakes, which check every request against the vendors' descriptions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.router.routing import RoutingPolicy
from tests.fakes.base import Fault
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.specs import SPECS
from tests.router_support import Router, clock_at, request, routing_keys_for, running_router, wait_until
from tests.support import REPO_ROOT, run

NO_GROUPING = RoutingPolicy(group_window=0)
WEDNESDAY_MORNING = datetime.fromisoformat("2026-12-02T10:00+01:00")
"""de1 (Berlin) and de4 (Istanbul) at work, de2 (Chicago) asleep; de3 is the data-eng on-call."""


@pytest.fixture(scope="module")
def org() -> Org:
    return load_working_tree(REPO_ROOT).require_ok()


@pytest.fixture
def router(tmp_path: Path, org: Org) -> Iterator[Router]:
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING)) as live:
        yield live


def airflow_failure(dag: str = "aggregate_growth_investors", run_id: str = "scheduled__1", **extra: Any) -> dict[str, Any]:
    return {"dag_id": dag, "task_id": "load", "run_id": run_id, "try_number": 1, "exception": "boom"} | extra


def messages(router: Router, channel: str) -> list[dict[str, Any]]:
    found = router.slack.channel(channel)
    assert found is not None
    return found.messages


def dm_texts(router: Router, person: str) -> list[str]:
    found = router.slack.dm_with(router.slack.users[router.org.people[person].email])
    return [m["text"] for m in found.messages] if found else []


def no_rejections(router: Router) -> None:
    assert router.pd.rejected == []
    assert router.slack.rejected == []


def test_a_failure_pages_its_owner_once_and_tells_the_team(router: Router) -> None:
    answer = router.post("airflow", airflow_failure())
    assert answer.status == 202
    [row] = answer.json()["alerts"]
    assert row | {"id": 1} == {
        "id": 1,
        "duplicate": False,
        "pipeline": "aggregate_growth_investors",
        "team": "data-eng",
        "pages": True,
        "dedup_key": "opsctl:aggregate_growth_investors:airflow:aggregate_growth_investors",
        "note": "opens an incident",
    }
    wait_until(router.settled)
    [incident] = router.pd.incidents
    assert incident.dedup_key == row["dedup_key"]
    assert incident.routing_key == "key-team-data-eng"  # the pipeline has no key of its own: its team's
    assert incident.severity == "critical"
    event = router.pd.events[0]
    assert event["payload"]["summary"].startswith("[investor-facing] Aggregate Growth for Investors: Airflow DAG")
    assert event["payload"]["custom_details"]["chain"][0] == (
        "1. pipeline primary owner: Elif Yıldız (de4), paged, then 10 min to acknowledge"
    )
    [message] = messages(router, "#data-eng-alerts")
    assert "Paging Elif Yıldız (de4), pipeline primary owner." in message["text"]
    assert dm_texts(router, "de4")[0].startswith(":rotating_light: You are paged as pipeline primary owner")
    assert dm_texts(router, "de3") == []
    no_rejections(router)


def test_the_pipelines_own_routing_key_wins_over_its_teams(router: Router) -> None:
    router.post("airflow", airflow_failure("aggregate_profit_investors"))
    wait_until(router.settled)
    assert [i.routing_key for i in router.pd.incidents] == ["key-pipeline-aggregate-profit"]


def test_a_source_retrying_the_same_notification_is_recognised(router: Router) -> None:
    payload = airflow_failure()
    first, second, third = (router.post("airflow", payload) for _ in range(3))
    assert [a.status for a in (first, second, third)] == [202, 202, 202]
    ids = {a.json()["alerts"][0]["id"] for a in (first, second, third)}
    assert len(ids) == 1
    assert [a.json()["alerts"][0]["duplicate"] for a in (first, second, third)] == [False, True, True]
    assert third.json()["alerts"][0]["note"] == "duplicate of alert 1: opens an incident"
    wait_until(router.settled)
    assert len(router.pd.events) == 1
    assert len(messages(router, "#data-eng-alerts")) == 1
    conn = router.db()
    assert conn.execute("SELECT count(*), max(duplicates) FROM alerts").fetchone() == (1, 2)


def test_a_repeated_failure_pages_once(router: Router) -> None:
    for run_id in ("scheduled__1", "scheduled__2", "scheduled__3"):
        assert router.post("airflow", airflow_failure(run_id=run_id)).status == 202
    wait_until(router.settled)
    assert router.pd.pages() == 1
    assert len(router.pd.events) == 1  # the repeats are coalesced: counted on the first, not sent
    assert len(messages(router, "#data-eng-alerts")) == 1
    assert len(dm_texts(router, "de4")) == 1
    stored = router.query("SELECT id, effect, coalesced FROM alerts ORDER BY id")
    assert stored == [(1, "opened", 2), (2, "repeat", 0), (3, "repeat", 0)]
    no_rejections(router)


def test_a_resolve_closes_what_the_failure_opened(router: Router) -> None:
    router.post("airflow", airflow_failure())
    answer = router.post("airflow", {"dag_id": "aggregate_growth_investors", "run_id": "scheduled__1", "state": "success"})
    assert answer.json()["alerts"][0]["note"] == "resolves the open incident"
    wait_until(router.settled)
    [incident] = router.pd.incidents
    assert incident.status == "resolved"
    assert [e["event_action"] for e in router.pd.events] == ["trigger", "resolve"]
    first, reply = messages(router, "#data-eng-alerts")
    assert reply["text"].startswith(":white_check_mark: Resolved: *Aggregate Growth for Investors")
    # the channel's reply and the DM to the person paged go to different targets, in either order
    [resolved] = [
        r.body for r in router.slack.requests if r.path.endswith("chat.postMessage") and r.body["text"] == reply["text"]
    ]
    assert resolved["thread_ts"] == first["ts"]  # in the failure's thread
    # a second resolve finds nothing open and sends nothing
    again = router.post("airflow", {"dag_id": "aggregate_growth_investors", "run_id": "scheduled__2", "state": "success"})
    assert again.json()["alerts"][0]["note"] == "nothing is open for this failure: nothing to resolve"
    # and the next failure opens a new incident
    router.post("airflow", airflow_failure(run_id="scheduled__3"))
    wait_until(router.settled)
    assert router.pd.pages() == 2
    no_rejections(router)


def test_an_owner_on_holiday_is_skipped(tmp_path: Path, org: Org) -> None:
    at = datetime.fromisoformat("2026-12-22T10:00+01:00")  # de2, primary owner, on winter holiday
    with running_router(tmp_path, org, clock=clock_at(at)) as router:
        router.post("airflow", airflow_failure("aggregate_profit_investors"))
        wait_until(router.settled)
        chain = router.pd.events[0]["payload"]["custom_details"]["chain"]
        assert chain[0].startswith("1. pipeline primary owner: Daniel Okafor (de2), skipped: unavailable: time off 2026-12-21")
        assert dm_texts(router, "de2") == []
        assert len(dm_texts(router, "de1")) == 1
        [message] = messages(router, "#data-eng-alerts")
        assert "Paging <@U04LHF7K2M> (Lena Hoffmann), pipeline secondary owner." in message["text"]
        assert "Skipped: pipeline primary owner Daniel Okafor (de2), unavailable: time off" in message["text"]


def test_a_working_hours_tier_waits_in_slack_for_the_morning(tmp_path: Path, org: Org) -> None:
    at = datetime.fromisoformat("2026-12-05T23:30+01:00")  # Saturday night
    with running_router(tmp_path, org, clock=clock_at(at)) as router:
        answer = router.post("airflow", airflow_failure("unit_profit_experiments"))
        assert answer.json()["alerts"][0]["pages"] is False
        wait_until(router.settled)
        assert router.pd.events == []
        [message] = messages(router, "#data-eng-alerts")
        assert message["text"].startswith(":sunrise: *Unit-level Profit for Experiments (unit_profit_experiments)*")
        assert "For the morning: <@U04LHF7K2M> (Lena Hoffmann), pipeline primary owner." in message["text"]
        assert all(not c.is_im or not c.messages for c in router.slack.channels.values())


def test_an_unmatched_alert_goes_to_the_default_teams_on_call(router: Router) -> None:
    answer = router.post("generic", {"summary": "Nightly export failed", "pipeline": "lake_export"})
    assert answer.json()["alerts"][0]["pipeline"] is None
    wait_until(router.settled)
    [incident] = router.pd.incidents
    assert incident.routing_key == "key-team-data-eng"
    assert incident.summary == "[unmatched] Nightly export failed"
    assert len(dm_texts(router, "de3")) == 1  # the on-call primary
    [message] = messages(router, "#data-eng")
    assert "no pipeline matches name 'lake_export'" in message["text"]


def test_an_alertmanager_notification_routes_each_alert(router: Router) -> None:
    payload = json.loads((SPECS / "inbound" / "alertmanager-v4.json").read_text())
    payload["alerts"].append({"status": "firing", "labels": {"alertname": "Lag", "pipeline": "daily_growth_experiments"}})
    answer = router.post("alertmanager", payload)
    assert [row["pipeline"] for row in answer.json()["alerts"]] == ["aggregate_profit_investors", "daily_growth_experiments"]
    wait_until(router.settled)
    assert router.pd.pages() == 2
    resolved = {**payload, "status": "resolved", "alerts": [{**a, "status": "resolved"} for a in payload["alerts"]]}
    router.post("alertmanager", resolved)
    wait_until(router.settled)
    assert {i.status for i in router.pd.incidents} == {"resolved"}
    no_rejections(router)


def test_a_missing_routing_key_keeps_the_page_failed_with_a_reason_until_the_key_comes(tmp_path: Path, org: Org) -> None:
    keys = routing_keys_for(org)
    del keys["teams"]["data-eng"]
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING), keys=keys) as router:
        router.post("airflow", airflow_failure())
        wait_until(lambda: router.deliveries("failed"))
        wait_until(router.settled)
        [failed] = router.deliveries("failed")
        assert failed[2:4] == ("pagerduty", "trigger")
        assert failed[7] == "no-routing-key"
        assert failed[8] == (
            f"no routing key for pipeline 'aggregate_growth_investors' or its team 'data-eng' in {router.keys_path}: "
            "add one (opsctl sync pagerduty --routing-keys-out PATH writes it), then `opsctl alerts retry` (after 1 attempt)"
        )
        assert router.pd.events == []
        assert len(messages(router, "#data-eng-alerts")) == 1  # Slack does not wait for PagerDuty
        listed = run("alerts", "--db", str(router.db_path), "list", "--state", "failed", "--format", "json", root=REPO_ROOT)
        assert [row["id"] for row in json.loads(listed.stdout)] == [1]
        # the sync engineer's command writes the key: the worker sees the new file and pages
        time.sleep(0.01)
        router.keys_path.write_text(json.dumps(routing_keys_for(org)))
        wait_until(lambda: router.pd.pages() == 1)
        wait_until(router.settled)
        assert router.deliveries("failed") == []


def test_pagerduty_down_for_a_while_then_back_delivers_every_alert_once(tmp_path: Path, org: Org) -> None:
    pd = PagerDutyEventsFake()
    pd.inject(Fault(503, times=12, body='{"status":"unavailable"}'))
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING), pd=pd) as router:
        for number in range(20):
            assert router.post("generic", {"summary": f"check {number} failed", "dedup_key": f"check-{number}"}).status == 202
        wait_until(router.settled, timeout=30)
        statuses = [r.status for r in pd.requests]
        assert statuses.count(503) == 12
        assert statuses.count(202) == 20  # each page sent once it could be: no duplicates
        assert pd.pages() == 20
        assert all(len(incidents) == 1 for incidents in pd.by_dedup_key().values())
        assert router.deliveries("failed") == []
        errors = router.db().execute("SELECT value FROM counters WHERE name = 'attempt_errors_total:pagerduty'").fetchone()
        assert errors[0] >= 1
        no_rejections(router)


def test_a_429_storm_is_waited_out_as_retry_after_says(tmp_path: Path, org: Org) -> None:
    pd = PagerDutyEventsFake()
    pd.inject(Fault(429, times=3, headers={"Retry-After": "1"}, body='{"status":"throttled"}'))
    # five failures of one pipeline: not grouped here, so that each is a page of its own
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING), pd=pd, worker=False, policy=NO_GROUPING) as router:
        for number in range(5):
            router.post(
                "generic", {"summary": f"storm {number}", "pipeline": "aggregate_profit_investors", "dedup_key": f"s{number}"}
            )
        router.start_worker(threads=1)  # one sender, so every request after a 429 was sent after it
        started = time.monotonic()
        wait_until(router.settled, timeout=30)
        assert time.monotonic() - started >= 3.0  # three 429s, one second each
        arrivals = pd.arrivals
        statuses = [r.status for r in pd.requests]
        for index, status in enumerate(statuses[:-1]):
            if status == 429:
                assert arrivals[index + 1] - arrivals[index] >= 0.95, (statuses, arrivals)
        assert pd.pages() == 5
        assert statuses.count(202) == 5
        no_rejections(router)


def test_slack_rate_limits_are_waited_out_and_bursts_become_digests(tmp_path: Path, org: Org) -> None:
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING), worker=False, policy=NO_GROUPING) as router:
        router.slack.inject(Fault(429, lambda r: r.path.endswith("chat.postMessage"), times=1, headers={"Retry-After": "1"}))
        for number in range(12):
            router.post(
                "generic", {"summary": f"burst {number}", "pipeline": "daily_growth_experiments", "dedup_key": f"b{number}"}
            )
        router.start_worker(slack_pace=0.5)
        wait_until(router.settled, timeout=30)
        channel = messages(router, "#data-eng-alerts")
        text = "\n".join(m["text"] for m in channel)
        assert all(f"burst {number}" in text for number in range(12))  # every alert told, none twice
        assert sum(text.count(f"burst {number} ") + text.count(f"burst {number}\n") for number in range(12)) <= 12
        assert len(channel) < 12
        assert any(m["text"].startswith(":rotating_light: 12 alerts:") or " alerts:" in m["text"] for m in channel)
        assert router.pd.pages() == 12
        no_rejections(router)


def test_delivery_state_is_visible_and_retryable_from_the_command_line(tmp_path: Path, org: Org) -> None:
    pd = PagerDutyEventsFake(routing_keys=["another-key"])  # PagerDuty refuses our key: a person must act
    with running_router(tmp_path, org, clock=clock_at(WEDNESDAY_MORNING), pd=pd, slack=False) as router:
        router.post("airflow", airflow_failure())
        wait_until(lambda: router.deliveries("failed"))
        db = ["alerts", "--db", str(router.db_path)]
        listed = run(*db, "list", "--state", "failed", root=REPO_ROOT)
        assert "aggregate_growth_investors" in listed.stdout
        assert "failed" in listed.stdout
        shown = run(*db, "show", "1", root=REPO_ROOT)
        head, _, rest = shown.stdout.partition("\n")
        assert head.startswith("alert 1 from airflow, firing, received 20")
        assert rest == (
            "  Airflow DAG aggregate_growth_investors: task load failed (run scheduled__1, try 1): boom\n"
            "  routed to  aggregate_growth_investors (team data-eng): matched by Airflow dag_id 'aggregate_growth_investors'\n"
            "  decision   page now, urgency high: pages at any hour\n"
            "  chain      1. pipeline_primary: Elif Yıldız, paged\n"
            "             2. pipeline_secondary: Priya Raghunathan, paged\n"
            "             3. oncall_primary: Priya Raghunathan, skipped: already in the chain\n"
            "             4. oncall_secondary: Elif Yıldız, skipped: already in the chain\n"
            "             5. lead: Lena Hoffmann, paged\n"
            "  dedup key  opsctl:aggregate_growth_investors:airflow:aggregate_growth_investors\n"
            "  note       opens an incident\n"
            "  delivery 1: pagerduty trigger → pipeline:aggregate_growth_investors|team:data-eng: failed (1 attempt)\n"
            '      last error [http-400]: PagerDuty refused the event (400): {"status": "invalid event", "message": '
            '"Event object is invalid", "errors": ["Invalid routing key"]} (after 1 attempt)\n'
        )
        pd.routing_keys = None  # the key now exists
        retried = run(*db, "retry", "1", root=REPO_ROOT)
        assert retried.stderr == "1 failed delivery queued again\n"
        wait_until(lambda: pd.pages() == 1)
        wait_until(router.settled)
        again = run(*db, "retry", "--all-failed", root=REPO_ROOT)
        assert again.stderr == "no failed deliveries to retry\n"


def test_alerts_commands_explain_a_missing_database(tmp_path: Path) -> None:
    result = run("alerts", "--db", str(tmp_path / "none.sqlite3"), "list", root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr == (
        f"opsctl: no alert database at {tmp_path / 'none.sqlite3'}: opsctl serve creates it "
        "(--db or OPSCTL_ROUTER_DB point at another)\n"
    )


# -- the reading endpoints ---------------------------------------------------------------------


def test_health_readiness_and_metrics(router: Router) -> None:
    assert request(router.url + "/healthz").json() == {"status": "ok"}
    assert request(router.url + "/readyz").json() == {"status": "ready", "pipelines": 5}
    router.post("airflow", airflow_failure())
    router.post("airflow", airflow_failure())
    router.post("airflow", {"dag_id": "x"}, headers={"Authorization": "Bearer wrong"})
    wait_until(router.settled)
    text = request(router.url + "/metrics").text
    for line in (
        'opsctl_alerts_accepted_total{source="airflow"} 1',
        'opsctl_alerts_duplicate_total{source="airflow"} 1',
        'opsctl_requests_rejected_total{source="airflow",reason="unauthorized"} 1',
        'opsctl_deliveries_delivered_total{kind="pagerduty"} 1',
        'opsctl_deliveries_delivered_total{kind="slack-channel"} 1',
        'opsctl_deliveries_delivered_total{kind="slack-dm"} 1',
        "opsctl_outbox_queue_depth 0",
        "opsctl_delivery_latency_seconds_count 3",
        'opsctl_accept_latency_seconds_bucket{le="+Inf"} 2',
    ):
        assert line in text.splitlines(), line


def test_readiness_wants_a_live_worker_when_one_is_expected(tmp_path: Path, org: Org) -> None:
    with running_router(tmp_path, org, worker=False, expect_worker=True) as router:
        answer = request(router.url + "/readyz")
        assert answer.status == 503
        assert answer.json()["problems"][0].startswith("the delivery worker has not been seen for")
        router.start_worker()
        wait_until(lambda: request(router.url + "/readyz").status == 200)


def test_oncall_answers_like_whoisoncall(router: Router) -> None:
    answer = request(router.url + "/v1/oncall?team=data-eng&at=2026-12-17T20:00%2B01:00")
    cli = run("whoisoncall", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", "--format", "json", root=REPO_ROOT)
    assert answer.json() == json.loads(cli.stdout)
    bad = request(router.url + "/v1/oncall?team=data-engg")
    assert (bad.status, bad.json()["message"]) == (400, "unknown team 'data-engg' (did you mean 'data-eng'?)")


def test_calendars(router: Router) -> None:
    answer = request(router.url + "/calendars/data-eng-weekly.ics?weeks=4")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert answer.text.count("BEGIN:VEVENT") >= 5
    missing = request(router.url + "/calendars/data-eng.ics")
    assert (missing.status, missing.json()["message"]) == (404, "unknown rotation 'data-eng' (did you mean 'data-eng-weekly'?)")
    assert request(router.url + "/calendars/data-eng-weekly.ics?weeks=0").status == 400


def test_the_runbook_site_is_served_when_it_exists(tmp_path: Path, org: Org) -> None:
    site = tmp_path / "site"
    (site / "pipelines").mkdir(parents=True)
    (site / "index.html").write_text("<h1>On call</h1>")
    (site / "pipelines" / "x.html").write_text("<h1>x</h1>")
    with running_router(tmp_path, org, site_dir=site) as router:
        assert request(router.url + "/").text == "<h1>On call</h1>"
        assert request(router.url + "/pipelines/x.html").text == "<h1>x</h1>"
        assert request(router.url + "/healthz").json() == {"status": "ok"}
        assert request(router.url + "/nothing-here").status == 404


def test_without_a_site_the_root_lists_the_endpoints(router: Router) -> None:
    body = request(router.url + "/").json()
    assert "/v1/alerts/{source}" in body["endpoints"]
    assert request(router.url + "/openapi.json").json()["openapi"] == "3.1.0"


def test_a_rotation_calendar_has_the_events_of_opsctl_schedule(tmp_path: Path, org: Org) -> None:
    from icalendar import Calendar

    # the feed ends on 1 April 10:00 UTC, inside a BI Services shift whose reduced duty starts
    # that evening: the server's event is that shift whole, reduced duty described, as the CLI's
    now = datetime.fromisoformat("2026-01-07T10:00Z")
    with running_router(tmp_path, org, clock=lambda: now) as router:
        answer = request(router.url + "/calendars/bi-services-oncall.ics?weeks=12")
    assert answer.status == 200
    cli = run(
        *("schedule", "--team", "bi-services", "--from", "2025-12-31T10:00Z", "--to", "2026-04-01T10:00Z", "--format", "ics"),
        root=REPO_ROOT,
    )
    assert cli.exit_code == 0, cli.stderr

    def parts(feed: bytes) -> tuple[list[bytes], list[dict[str, Any]]]:
        calendar = Calendar.from_ical(feed)
        zones = [zone.to_ical() for zone in calendar.walk("VTIMEZONE")]
        fields = ("uid", "dtstart", "dtend", "summary", "description", "categories")
        events = [{name: event.get(name).to_ical() for name in fields} for event in calendar.walk("VEVENT")]
        return zones, events

    served, printed = parts(answer.body), parts(cli.stdout_bytes)
    assert served == printed
    zones, events = served
    assert len(zones) == 1 and b"RRULE:FREQ=YEARLY" in zones[0]
    assert len(events) == 5  # the weekly shifts from the rotation's start on 2 March, the last whole to 6 April
    last = Calendar.from_ical(answer.body).walk("VEVENT")[-1]
    assert last.decoded("dtstart") < datetime.fromisoformat("2026-04-01T10:00Z") < last.decoded("dtend")
    assert "(reduced duty in part)" in str(last.get("summary"))
    assert "Within this shift:" in str(last.get("description"))
