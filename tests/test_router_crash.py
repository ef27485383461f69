"""`opsctl serve` as a real process, killed with SIGKILL in the middle of delivering, then
started again on the same database: nothing accepted is lost, nothing is paged twice."""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.slack import SlackFake
from tests.router_support import post_alert, queue_empty, slack_for, start_serve, wait_until
from tests.support import REPO_ROOT


@pytest.fixture
def fakes() -> Iterator[tuple[PagerDutyEventsFake, SlackFake, Org]]:
    org = load_working_tree(REPO_ROOT).require_ok()
    pd = PagerDutyEventsFake(delay=0.04)  # a slow PagerDuty: about 25 events a second
    slack = slack_for(org)
    pd.start()
    slack.start()
    yield pd, slack, org
    pd.stop()
    slack.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigkill_mid_delivery_then_restart_loses_nothing_and_pages_nothing_twice(
    tmp_path: Path, fakes: tuple[PagerDutyEventsFake, SlackFake, Org]
) -> None:
    pd, slack, org = fakes
    count = 40
    first = start_serve(tmp_path, pd, slack, org, "first")
    try:
        for number in range(count):
            body = {"summary": f"check {number:02d} failed", "pipeline": "aggregate_profit_investors", "dedup_key": f"c{number}"}
            answer = post_alert(first.url, "generic", body)
            assert answer.status == 202, answer.text  # stored and fsynced: from here on it must not be lost
        wait_until(lambda: len(pd.events) >= 8, timeout=30)
        worker = first.worker_pid()
        first.process.send_signal(signal.SIGKILL)  # the server only: its worker must not go on alone
        first.process.wait(10)
        killed_at = len(pd.events)
        wait_until(lambda: not alive(worker), timeout=5)
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait()
    assert killed_at < count, "delivery finished before the kill: slow the fake down"
    second = start_serve(tmp_path, pd, slack, org, "second")
    try:
        wait_until(lambda: pd.pages() == count, timeout=60, interval=0.1)
        wait_until(lambda: queue_empty(second), timeout=60, interval=0.1)
    finally:
        second.process.send_signal(signal.SIGTERM)
        second.process.wait(30)
    # uvicorn ends by raising the SIGTERM it caught again, after the clean shutdown
    assert second.process.returncode in (0, -signal.SIGTERM), second.log.read_text()
    assert "opsctl worker: stopped; every send that was under way is recorded" in second.log.read_text()
    # every alert paged exactly once; at most the sends in flight at the kill went twice
    assert all(len(incidents) == 1 for incidents in pd.by_dedup_key().values())
    assert len(pd.by_dedup_key()) == count
    assert count <= len(pd.events) <= count + 16
    # every alert told in Slack exactly once (alone or in a digest), even those whose post was in flight
    conn = sqlite3.connect(tmp_path / "router.sqlite3")
    wanted = [row[0] for row in conn.execute("SELECT id FROM deliveries WHERE kind = 'slack-channel' AND state = 'delivered'")]
    conn.close()
    assert len(wanted) == count
    told = [
        int(delivery)
        for message in slack.channel("#data-eng-alerts").messages  # type: ignore[union-attr]
        for delivery in message["metadata"]["event_payload"]["deliveries"].split(",")
    ]
    assert sorted(told) == sorted(wanted)
    assert pd.rejected == [] and slack.rejected == []
    assert "Traceback" not in first.log.read_text() + second.log.read_text()


def test_sigterm_stops_cleanly(tmp_path: Path, fakes: tuple[PagerDutyEventsFake, SlackFake, Org]) -> None:
    pd, slack, org = fakes
    serve = start_serve(tmp_path, pd, slack, org, "clean")
    worker = serve.worker_pid()
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(30) in (0, -signal.SIGTERM)
    wait_until(lambda: not alive(worker), timeout=10)
    log = serve.log.read_text()
    assert "opsctl worker: stopped; every send that was under way is recorded" in log
    assert "listening on http://127.0.0.1:" in log
    assert "Traceback" not in log
