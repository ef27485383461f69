"""What went wrong when the router met real faults, each pinned by a test over a live server:
its database file deleted or replaced while it runs, a PagerDuty outage, a Grafana contact
point that only signs, a crash in the middle of a Slack digest, and clients that send a
request a byte at a time."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.router.security import Credentials
from opsctl.vendors.retry import RetryPolicy
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.slack import SlackFake
from tests.router_support import (
    GRAFANA_SECRET,
    TOKEN,
    post_alert,
    queue_empty,
    request,
    running_router,
    slack_for,
    start_serve,
    wait_until,
)
from tests.support import REPO_ROOT

ORG: Org = load_working_tree(REPO_ROOT).require_ok()


TEAMS = sorted(ORG.teams)


def unmatched(number: int) -> dict[str, Any]:
    """A failure that matches no pipeline (so nothing groups it): the on-call of a team, in
    turn (each team has its own routing key, so pacing keeps out of the way)."""
    return {"summary": f"check {number} failed", "dedup_key": f"check-{number}", "team": TEAMS[number % len(TEAMS)]}


def stored_summaries(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT summary FROM alerts ORDER BY id")]
    finally:
        conn.close()


# -- the database file deleted or replaced while the server runs -------------------------------


def test_a_deleted_database_is_written_back_from_the_open_file_and_nothing_is_lost(tmp_path: Path) -> None:
    pd = PagerDutyEventsFake()
    pd.outage(3600)  # PagerDuty down too: what is accepted must wait in the database
    with running_router(tmp_path, ORG, pd=pd) as router:
        assert router.post("generic", unmatched(1)).status == 202
        for name in ("router.sqlite3", "router.sqlite3-wal", "router.sqlite3-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        answer = router.post("generic", unmatched(2))
        assert answer.status == 202, answer.text
        ready = request(router.url + "/readyz")
        assert ready.status == 200, ready.text
        assert stored_summaries(router.db_path) == ["check 1 failed", "check 2 failed"]
    # a restart finds both, and pages both once PagerDuty is back
    pd = PagerDutyEventsFake()
    with running_router(tmp_path, ORG, pd=pd) as router:
        wait_until(lambda: pd.pages() == 2)
        wait_until(router.settled)


def test_a_replaced_database_is_refused_until_the_replacement_is_moved_away(tmp_path: Path) -> None:
    pd = PagerDutyEventsFake()
    pd.outage(3600)
    with running_router(tmp_path, ORG, pd=pd) as router:
        assert router.post("generic", unmatched(1)).status == 202
        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).close()
        os.replace(other, router.db_path)  # someone restores an old file over the live one
        answer = router.post("generic", unmatched(2))
        assert answer.status == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["message"].startswith(
            f"not stored, try again: the alert database {router.db_path} was replaced by another file while the server ran"
        )
        ready = request(router.url + "/readyz")
        assert ready.status == 503
        assert "was replaced by another file" in ready.json()["problems"][0]
        router.db_path.unlink()  # the replacement goes: the server writes back what it holds
        wait_until(lambda: request(router.url + "/readyz").status == 200)
        assert router.post("generic", unmatched(3)).status == 202
        assert stored_summaries(router.db_path) == ["check 1 failed", "check 3 failed"]


# -- back-off per probe, not per failed request --------------------------------------------------


def test_an_outage_gets_one_probe_per_step_and_pages_flow_soon_after_it(tmp_path: Path) -> None:
    pd = PagerDutyEventsFake()
    with running_router(tmp_path, ORG, pd=pd, worker=False) as router:
        for number in range(40):
            assert router.post("generic", unmatched(number)).status == 202
        outage = 4.0
        pd.outage(outage)
        back = time.monotonic() + outage
        router.start_worker(policy=RetryPolicy(0.1, 60.0, 50))
        wait_until(lambda: pd.pages() == 40, timeout=outage + 20)
        flowed = time.monotonic() - back
        refused = sum(1 for r in pd.requests if r.status == 503)
        # per target (a team's routing target here) one probe at a time, at about 0.1, 0.2, 0.4,
        # 0.8, 1.6 s ... (half jittered): a handful each, not one per queued page
        assert refused <= 10 * len(TEAMS), refused
        # the last probe of the outage waits at most 3.2 s; the probes spent part of each key's budget
        assert flowed < 10.0, f"pages flowed {flowed:.1f} s after PagerDuty came back"
        assert all(len(incidents) == 1 for incidents in pd.by_dedup_key().values())


# -- a source's signature is enough -------------------------------------------------------------


def test_a_grafana_contact_point_that_only_signs_is_accepted_beside_a_shared_token(tmp_path: Path) -> None:
    creds = Credentials({}, f"{TOKEN}-shared", {"grafana": GRAFANA_SECRET})
    body = (Path(__file__).parent / "specs" / "inbound" / "alertmanager-v4.json").read_bytes()
    body = body.replace(b'"version":"4"', b'"version":"1","orgId":1')
    with running_router(tmp_path, ORG, worker=False, creds=creds) as router:
        stamp = str(int(router.settings.clock().timestamp()))
        signature = hmac.new(GRAFANA_SECRET.encode(), stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Grafana-Alerting-Signature": signature,
            "X-Grafana-Alerting-Timestamp": stamp,
        }
        answer = request(f"{router.url}/v1/alerts/grafana", "POST", body, headers)
        assert answer.status == 202, answer.text
        # the shared token alone does not do for a source whose secret is set: it must sign
        token_only = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}-shared"}
        refused = request(f"{router.url}/v1/alerts/grafana", "POST", body, token_only)
        assert refused.status == 401
        assert refused.json()["message"].startswith("missing X-Grafana-Alerting-Signature")


# -- a crash in the middle of a Slack digest -------------------------------------------------------


class SlowAnswers(SlackFake):
    """Slack that posts a message at once but is slow to answer, so a sender can die between
    the post and recording it."""

    answer_delay = 0.0
    history_reads = 0

    def _dispatch(self, request: Any) -> Any:
        response = super()._dispatch(request)
        if request.path.endswith("conversations.history"):
            self.history_reads += 1
        if request.path.endswith("chat.postMessage"):
            time.sleep(self.answer_delay)
        return response


def test_after_a_crash_mid_digest_slack_history_is_read_once_per_channel(tmp_path: Path) -> None:
    """Nothing is told twice after the crash, with the team channels far down the channel
    listing and one of them private."""
    pd = PagerDutyEventsFake()
    slack = slack_for(ORG)
    slack.__class__ = SlowAnswers  # the same fake, answering chat.postMessage slowly
    assert isinstance(slack, SlowAnswers)
    slack.answer_delay = 3.0
    # the team channels come after a page and a half of others, and one is private: the
    # history is found only by a channel listing that pages on and asks for private channels
    teams = dict(slack.channels)
    slack.channels.clear()
    for number in range(150):
        slack.add_channel(f"#elsewhere-{number}")
    slack.channels.update(teams)
    private = slack.channel("#data-eng")
    assert private is not None
    private.is_private = True
    pd.start()
    slack.start()
    try:
        first = start_serve(tmp_path, pd, slack, ORG, "first", args=())
        try:
            for number in range(120):
                assert post_alert(first.url, "generic", unmatched(number)).status == 202
            channel = slack.channel("#data-eng")
            assert channel is not None
            wait_until(lambda: len(channel.messages) >= 1, timeout=30)  # the digest is posted, its answer on the way
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(10)
        finally:
            if first.process.poll() is None:
                first.process.kill()
                first.process.wait()
        slack.answer_delay = 0.0
        posted_before = len(channel.messages)
        second = start_serve(tmp_path, pd, slack, ORG, "second", args=())
        try:
            wait_until(lambda: queue_empty(second), timeout=60, interval=0.1)
        finally:
            second.stop()
        conn = sqlite3.connect(tmp_path / "router.sqlite3")
        targets = conn.execute("SELECT count(DISTINCT kind || target) FROM deliveries WHERE kind LIKE 'slack-%'").fetchone()[0]
        conn.close()
        # at most one history read per channel the crashed digests went to (team channels, DMs)
        assert 0 < slack.history_reads <= targets, (slack.history_reads, targets)
        told = [
            int(delivery)
            for found in slack.channels.values()
            if not found.is_im
            for message in found.messages
            for delivery in message["metadata"]["event_payload"]["deliveries"].split(",")
        ]
        assert len(told) == len(set(told)) == 120  # every alert told once in its team's channel, none twice
        assert len(channel.messages) >= posted_before
        assert pd.pages() == 120
        assert "Traceback" not in first.log.read_text() + second.log.read_text()
    finally:
        pd.stop()
        slack.stop()


# -- slow clients ----------------------------------------------------------------------------------


def test_slow_headers_and_bodies_are_cut_off_at_the_read_timeout(tmp_path: Path) -> None:
    with running_router(tmp_path, ORG, worker=False, read_timeout=1.0) as router:
        port = router.server.port
        slow = []
        for number in range(100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if number % 2:
                sock.sendall(b"POST /v1/alerts/generic HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            else:
                sock.sendall(b"POST /v1/alerts/generic HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # nor the body
            slow.append(sock)
        started = time.monotonic()
        # the server still serves others meanwhile
        assert router.post("generic", unmatched(1)).status == 202
        answers = []
        for sock in slow:
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            answers.append(data)
            sock.close()
        assert time.monotonic() - started < 5.0
        assert all(answer.startswith(b"HTTP/1.1 408 Request Timeout") for answer in answers), answers[:2]
        assert b'"error":"request-timeout"' in answers[0]
        assert b"within 1 s" in answers[0]
