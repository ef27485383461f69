"""The router on PostgreSQL: the same promise as on SQLite, and several replicas sharing one
database. Every test runs against a real server: the machine's (in a schema of its own) for
what does it no harm, a private one started for the test for restarts and kills, reached
through a loopback link that can be cut for a network cut."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from tests import router_support as rs
from tests.fakes.pagerduty_events import PagerDutyEventsFake
from tests.fakes.slack import SlackFake
from tests.postgres_support import CuttableLink, PrivatePostgres, binaries, fresh_schema, no_server_reason, server_url
from tests.support import REPO_ROOT, run

ORG: Org = load_working_tree(REPO_ROOT).require_ok()
WEDNESDAY_MORNING = datetime.fromisoformat("2026-12-02T10:00+01:00")
TEAMS = sorted(ORG.teams)


@pytest.fixture(scope="module")
def shared() -> str:
    url = server_url()
    if url is None:
        pytest.skip(no_server_reason())
    return url


@pytest.fixture
def database(shared: str) -> Iterator[str]:
    with fresh_schema(shared) as url:
        yield url


@pytest.fixture
def private() -> Iterator[PrivatePostgres]:
    if binaries() is None:
        pytest.skip(no_server_reason() + "; restarts need a server of the test's own")
    server = PrivatePostgres().start()
    yield server
    server.close()


@pytest.fixture
def fakes() -> Iterator[tuple[PagerDutyEventsFake, SlackFake]]:
    pd = PagerDutyEventsFake(delay=0.03)  # a slow PagerDuty, to catch replicas mid-delivery
    slack = rs.slack_for(ORG)
    pd.start()
    slack.start()
    yield pd, slack
    pd.stop()
    slack.stop()


def failure(number: int) -> dict[str, str]:
    """A failure of its own (matching no pipeline, so nothing groups it), for a team in turn."""
    return {"summary": f"check {number} failed", "dedup_key": f"check-{number}", "team": TEAMS[number % len(TEAMS)]}


def exactly_once(pd: PagerDutyEventsFake, count: int) -> None:
    assert pd.pages() == count
    assert all(len(incidents) == 1 for incidents in pd.by_dedup_key().values())
    assert pd.rejected == []


def test_the_router_end_to_end_on_postgresql(tmp_path: Path, database: str) -> None:
    with rs.running_router(tmp_path, ORG, clock=rs.clock_at(WEDNESDAY_MORNING), database=database) as router:
        airflow = {"dag_id": "aggregate_growth_investors", "task_id": "load", "run_id": "r1", "exception": "boom"}
        first = router.post("airflow", airflow)
        assert first.status == 202 and first.json()["alerts"][0]["note"] == "opens an incident"
        assert router.post("airflow", airflow).json()["alerts"][0]["duplicate"] is True
        repeat = router.post("airflow", airflow | {"run_id": "r2"}).json()["alerts"][0]
        assert repeat["note"].startswith("repeat of an open incident: counted, not sent")
        rs.wait_until(router.settled)
        resolved = router.post("airflow", {"dag_id": "aggregate_growth_investors", "run_id": "r3", "state": "success"})
        assert resolved.json()["alerts"][0]["note"] == "resolves the open incident"
        rs.wait_until(router.settled)
        assert [e["event_action"] for e in router.pd.events] == ["trigger", "resolve"]
        assert rs.request(router.url + "/readyz").status == 200
        listed = run("alerts", "--db", database, "list", "--format", "json", root=REPO_ROOT)
        rows = json.loads(listed.stdout)
        assert [(r["effect"], r["coalesced"], r["duplicates"]) for r in rows] == [
            ("resolved", 0, 0),
            ("repeat", 0, 0),
            ("opened", 1, 1),
        ]
        from opsctl.router.store import open_store

        store = open_store(database)
        try:
            with store.connection() as conn:
                [routed] = store.routed(conn, 0, 2e9)
        finally:
            store.close()
        assert (routed.pipeline, routed.coalesced, routed.paged[0], routed.resolved_at is not None) == (
            "aggregate_growth_investors",
            1,
            "de4",
            True,
        )


def test_two_replicas_share_delivery_and_send_nothing_twice(
    tmp_path: Path, database: str, fakes: tuple[PagerDutyEventsFake, SlackFake]
) -> None:
    pd, slack = fakes
    replicas = [rs.start_serve(tmp_path, pd, slack, ORG, f"replica-{n}", database=database) for n in range(2)]
    try:
        for number in range(60):
            assert rs.post_alert(replicas[number % 2].url, "generic", failure(number)).status == 202
        rs.wait_until(lambda: pd.pages() == 60, timeout=60)
        rs.wait_until(lambda: all(rs.queue_empty(r) for r in replicas), timeout=30)
        exactly_once(pd, 60)
        assert len(pd.events) == 60  # no takeover happened, so no event went twice
        conn = rs.connect_database(database)
        assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == 2
        conn.close()
    finally:
        for replica in replicas:
            replica.stop()
    assert all("Traceback" not in r.log.read_text() for r in replicas)


def test_a_replica_killed_mid_delivery_loses_nothing_and_pages_nobody_twice(
    tmp_path: Path, database: str, fakes: tuple[PagerDutyEventsFake, SlackFake]
) -> None:
    pd, slack = fakes
    doomed, survivor = (rs.start_serve(tmp_path, pd, slack, ORG, name, database=database) for name in ("doomed", "survivor"))
    try:
        survivor.process.send_signal(signal.SIGSTOP)  # the doomed replica claims everything first
        for number in range(40):
            assert rs.post_alert(doomed.url, "generic", failure(number)).status == 202
        rs.wait_until(lambda: len(pd.events) >= 5, timeout=30)
        doomed.process.send_signal(signal.SIGKILL)  # its worker dies with it, leases and all
        doomed.process.wait(10)
        killed_at = len(pd.events)
        survivor.process.send_signal(signal.SIGCONT)
        assert killed_at < 40, "delivery finished before the kill: slow the fake down"
        # the dead replica's claims lapse with its heartbeat; the survivor takes them over
        rs.wait_until(lambda: pd.pages() == 40, timeout=60, interval=0.2)
        rs.wait_until(lambda: rs.queue_empty(survivor), timeout=30)
        exactly_once(pd, 40)
        assert len(pd.events) <= 40 + 32  # at most the sends in flight at the kill went twice (PagerDuty merged them)
    finally:
        for replica in (doomed, survivor):
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGCONT)
            replica.stop()


def _paused_and_resumed(serve: rs.Serve) -> None:
    log = serve.log.read_text()
    assert "delivery paused for" in log  # the worker logged the failure with its stack, and waited
    assert "delivery worker exited" not in log  # it did not die and restart
    assert "refusing alerts (503)" in log


def test_the_database_restarted_under_a_replica(
    tmp_path: Path, private: PrivatePostgres, fakes: tuple[PagerDutyEventsFake, SlackFake]
) -> None:
    pd, slack = fakes
    serve = rs.start_serve(tmp_path, pd, slack, ORG, "replica", database=private.url)
    accepted = 0
    try:
        for number in range(10):
            accepted += rs.post_alert(serve.url, "generic", failure(number)).status == 202
        private.stop()
        down = rs.post_alert(serve.url, "generic", failure(100))
        assert down.status == 503, down.text
        assert down.json()["error"] == "unavailable"
        assert rs.request(serve.url + "/readyz").status == 503
        time.sleep(1.0)
        private.start()
        rs.wait_until(lambda: rs.request(serve.url + "/readyz").status == 200, timeout=60, interval=0.2)
        for number in range(10, 20):
            accepted += rs.post_alert(serve.url, "generic", failure(number)).status == 202
        assert accepted == 20
        rs.wait_until(lambda: pd.pages() == 20, timeout=60, interval=0.2)
        rs.wait_until(lambda: rs.queue_empty(serve), timeout=30)
        exactly_once(pd, 20)
    finally:
        serve.stop()
    _paused_and_resumed(serve)


def test_a_network_cut_between_replica_and_database(
    tmp_path: Path, private: PrivatePostgres, fakes: tuple[PagerDutyEventsFake, SlackFake]
) -> None:
    pd, slack = fakes
    link = CuttableLink(private.port)
    serve = rs.start_serve(tmp_path, pd, slack, ORG, "replica", database=link.url())
    try:
        for number in range(10):
            assert rs.post_alert(serve.url, "generic", failure(number)).status == 202
        link.cut()
        cut = rs.post_alert(serve.url, "generic", failure(100))
        assert cut.status == 503, cut.text
        time.sleep(2.0)
        link.restore()
        rs.wait_until(lambda: rs.request(serve.url + "/readyz").status == 200, timeout=60, interval=0.2)
        for number in range(10, 20):
            assert rs.post_alert(serve.url, "generic", failure(number)).status == 202
        rs.wait_until(lambda: pd.pages() == 20, timeout=60, interval=0.2)
        rs.wait_until(lambda: rs.queue_empty(serve), timeout=30)
        exactly_once(pd, 20)
    finally:
        serve.stop()
        link.close()
    _paused_and_resumed(serve)
