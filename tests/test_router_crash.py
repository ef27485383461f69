"""`opsctl serve` as a real process, killed with SIGKILL in the middle of delivering, then
started again on the same database: nothing accepted is lost, nothing is paged twice."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.slack import SlackFake
from tests.router_support import SLACK_TOKEN, TOKEN, post_alert, request, routing_keys_for, slack_for, wait_until
from tests.support import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def worker_pid(self) -> int:
        found = re.findall(r"delivery worker started \(pid (\d+)\)", self.log.read_text())
        assert found, self.log.read_text()
        return int(found[-1])


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


def start_serve(tmp_path: Path, pd: PagerDutyEventsFake, slack: SlackFake, org: Org, name: str) -> Serve:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(routing_keys_for(org)))
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSCTL_")}
    env |= {
        "OPSCTL_CACHE_DIR": os.environ.get("OPSCTL_CACHE_DIR", str(tmp_path / "cache")),
        "OPSCTL_WEBHOOK_TOKEN_GENERIC": f"{TOKEN}-generic",
        "OPSCTL_ROUTING_KEYS_FILE": str(keys),
        "OPSCTL_ROUTER_DB": str(tmp_path / "router.sqlite3"),
        "OPSCTL_PAGERDUTY_EVENTS_URL": pd.url,
        "OPSCTL_SLACK_API_URL": slack.url + "/api/",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
    }
    port = free_port()
    log = tmp_path / f"{name}.log"
    command = [sys.executable, "-m", "opsctl", "--root", str(REPO_ROOT), "serve", "--port", str(port)]
    command += ["--retry-base", "0.05", "--retry-cap", "0.5", "--group-window", "0"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    serve = Serve(process, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return request(serve.url + "/readyz").status == 200
        except OSError:
            return False

    wait_until(ready, timeout=30, interval=0.1)
    return serve


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

        def settled() -> bool:
            metrics = request(second.url + "/metrics").text
            return "opsctl_outbox_queue_depth 0" in metrics.splitlines()

        wait_until(settled, timeout=60, interval=0.1)
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
