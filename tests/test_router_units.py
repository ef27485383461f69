"""The router's pure parts: chain caching, matching precedence, retry delays, routing keys."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.engine.escalation import escalation_chain
from opsctl.engine.schedule.resolve import Engine
from opsctl.errors import UsageError
from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.router.alert import Alert, Identifiers
from opsctl.router.matching import AlertIndex, ChainCache, dedup_key, match_alert
from opsctl.system.holidays import LibraryHolidays
from opsctl.vendors.retry import RetryPolicy
from opsctl.vendors.routing_keys import RoutingKeyFile, RoutingKeys
from tests.support import REPO_ROOT

ORG: Org = load_working_tree(REPO_ROOT).require_ok()
ENGINE = Engine(ORG, LibraryHolidays())
CACHE = ChainCache(ORG, ENGINE)
START = datetime(2026, 12, 14, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.integers(0, 120 * 24 * 3600),
    micros=st.integers(0, 999_999),
    pipeline=st.sampled_from([None, *ORG.pipelines]),
)
def test_a_chain_cached_per_second_is_the_chain_of_the_instant(seconds: int, micros: int, pipeline: str | None) -> None:
    # every boundary in the YAML is a whole second, so the second's chain is the instant's
    at = START + timedelta(seconds=seconds, microseconds=micros)
    found = ORG.pipelines.get(pipeline) if pipeline else None
    team = found.team if found else "data-eng"
    assert CACHE.chain(found, team, at) == escalation_chain(ORG, ENGINE, at, found, team)


def alert(**ids: object) -> Alert:
    return Alert("generic", "firing", "s", "e", "f", Identifiers(**ids))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ids", "pipeline", "reason"),
    [
        (
            {"dag_id": "aggregate_growth_investors", "labels": {"pipeline": "daily_growth_experiments"}},
            "aggregate_growth_investors",
            "matched by Airflow dag_id 'aggregate_growth_investors'",
        ),
        ({"dbt_job_id": "123"}, "aggregate_growth_investors", "matched by dbt Cloud job '123'"),
        (
            {"labels": {"pipeline": "unit_profit_experiments", "env": "prod"}},
            "unit_profit_experiments",
            "matched by labels pipeline=unit_profit_experiments",
        ),
        ({"names": ("DAU MAU",)}, "aggregate_engagement_investors", "matched by alias 'DAU MAU'"),
        (
            {"dag_id": "daily_growth_experiments"},
            "daily_growth_experiments",
            "matched by Airflow dag_id 'daily_growth_experiments'",
        ),
        (
            {"expectation_suite": "aggregate_profit_investors"},
            "aggregate_profit_investors",
            "matched by pipeline id 'aggregate_profit_investors'",
        ),
        (
            {"dag_id": "nope", "team": "mlops"},
            None,
            "no pipeline matches dag_id 'nope': it goes to the on-call of team 'mlops', which the alert names",
        ),
        ({"team": "nobody"}, None, "the alert names no pipeline: it goes to the on-call of the default team 'data-eng'"),
    ],
)
def test_matching_precedence(ids: dict[str, object], pipeline: str | None, reason: str) -> None:
    found = match_alert(ORG, AlertIndex(ORG), alert(**ids))
    assert (found.pipeline, found.reason) == (pipeline, reason)


def test_dedup_keys_are_stable_and_bounded() -> None:
    index = AlertIndex(ORG)
    first = alert(dag_id="aggregate_growth_investors")
    assert dedup_key(match_alert(ORG, index, first), first) == "opsctl:aggregate_growth_investors:f"
    long = Alert("generic", "firing", "s", "e", "x" * 400)
    key = dedup_key(match_alert(ORG, index, long), long)
    assert len(key) <= 255 and key == dedup_key(match_alert(ORG, index, long), long)


@settings(max_examples=200)
@given(failures=st.integers(1, 60), seed=st.integers(0, 2**32))
def test_retry_delays_grow_are_capped_and_jittered(failures: int, seed: int) -> None:
    policy = RetryPolicy(base=1.0, cap=300.0)
    raw = min(300.0, 2.0 ** (failures - 1))
    assert raw / 2 <= policy.delay(failures, random.Random(seed)) <= raw


def test_routing_keys_pipeline_then_team() -> None:
    keys = RoutingKeys.parse({"version": 1, "pipelines": {"p": "kp"}, "teams": {"t": "kt"}}, "keys.json")
    assert keys.lookup("pipeline:p|team:t") == ("kp", "the key of pipeline 'p'")
    assert keys.lookup("pipeline:q|team:t") == ("kt", "the key of team 't'")
    assert keys.lookup("team:t") == ("kt", "the key of team 't'")
    assert keys.lookup("team:u") == (
        None,
        "no routing key for team 'u' in keys.json: add one (opsctl sync pagerduty --routing-keys-out PATH writes it), "
        "then `opsctl alerts retry`",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "{path}: routing keys must be a JSON object (opsctl sync pagerduty --routing-keys-out PATH writes it)"),
        ('{"version": 2}', "{path}: version must be 1, not 2"),
        ('{"version": 1, "services": {}}', "{path}: unknown key 'services' (expected version, pipelines, teams)"),
        ('{"version": 1, "teams": {"t": ""}}', "{path}: teams must map ids to non-empty routing key strings"),
        ('{"version": 1,', "{path}:1:15: not valid JSON: Expecting property name enclosed in double quotes"),
    ],
)
def test_routing_keys_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        RoutingKeys.load(path)
    assert str(caught.value) == message.format(path=path)


def test_routing_key_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    source = RoutingKeyFile(path, check_every=0.0)
    assert source.lookup("team:t")[0] is None
    assert "does not exist" in source.lookup("team:t")[1]
    path.write_text(json.dumps({"version": 1, "teams": {"t": "k1"}}))
    assert source.lookup("team:t")[0] == "k1"
    path.write_text(json.dumps({"version": 1, "teams": {"t": "k22"}}))
    assert source.lookup("team:t")[0] == "k22"
    assert RoutingKeyFile(None).lookup("team:t")[1].startswith("no routing keys file: set OPSCTL_ROUTING_KEYS_FILE")


# -- sources as records -------------------------------------------------------------------------


def test_every_source_is_documented_described_and_accepted_by_the_cli() -> None:
    from opsctl.cli.router import route_command
    from opsctl.router.openapi import document
    from opsctl.router.sources import RECORDS

    docs = (REPO_ROOT / "docs" / "alert-sources.md").read_text()
    paths = document()["paths"]
    choices = next(p for p in route_command.params if p.name == "source").type.choices  # type: ignore[attr-defined]
    for source in RECORDS:
        assert f"\n## {source.docs}\n" in docs, source.name
        assert f"/v1/alerts/{source.name}" in docs, source.name
        operation = paths[f"/v1/alerts/{source.name}"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == source.body_schema
        assert source.name in choices
    from opsctl.router.heartbeat import HEARTBEAT

    assert f"\n## {HEARTBEAT.docs}\n" in docs
    assert "/v1/heartbeats/" in docs and HEARTBEAT.token_variable in docs
    assert paths["/v1/heartbeats/{pipeline}"]["post"]["requestBody"]["content"]["application/json"]["schema"] == (
        HEARTBEAT.body_schema
    )


def test_the_openapi_summaries_read_as_english() -> None:
    from opsctl.router.openapi import document

    summaries = [op["post"]["summary"] for op in document()["paths"].values() if "post" in op]
    assert summaries == [
        "Accept an alert from Prometheus Alertmanager",
        "Accept an alert from Grafana alerting",
        "Accept an alert from dbt Cloud",
        "Accept an alert from Airflow",
        "Accept an alert from Great Expectations",
        "Accept an alert from any other sender (the generic source)",
        "Record that a pipeline ran (a heartbeat for the freshness watchdog)",
    ]


# -- the supervisor and the worker's edge ---------------------------------------------------------


def test_the_supervisor_backs_off_a_worker_that_keeps_exiting() -> None:
    from opsctl.router.supervisor import HEALTHY_RUN, WorkerSupervisor
    from opsctl.router.worker import WorkerConfig
    from opsctl.vendors.config import VendorConfig

    supervisor = WorkerSupervisor(WorkerConfig("x.sqlite3", VendorConfig(), None))
    waits = [supervisor.next_wait(0.5) for _ in range(10)]
    assert 0.5 <= waits[0] <= 1.0
    assert all(later >= earlier / 2 for earlier, later in itertools.pairwise(waits))  # jittered, growing
    assert 30.0 <= waits[-1] <= 60.0  # capped at a minute
    assert supervisor.next_wait(HEALTHY_RUN + 1) <= 1.0  # a worker that ran well starts over


def test_a_failing_database_is_logged_with_its_stack_and_waited_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import time

    from opsctl.router.worker import WorkerConfig, WorkerThread
    from opsctl.vendors.config import VendorConfig

    folder = tmp_path / "not-a-database"
    folder.mkdir()  # a directory where the file should be: every connection fails
    caplog.set_level(logging.ERROR, logger="opsctl.router.worker")
    worker = WorkerThread(WorkerConfig(str(folder), VendorConfig(), None)).start()
    time.sleep(2.5)
    worker.stop()
    failures = [r for r in caplog.records if r.getMessage().startswith("delivery paused for")]
    assert 1 <= len(failures) <= 4, [r.getMessage() for r in failures]  # 0.5, 1, 2 s ...: not a busy loop
    assert all(r.exc_info is not None for r in failures)  # the stack is in the log
    assert "cannot open the alert database" in failures[0].getMessage()


V1_SCHEMA = """
CREATE TABLE alerts (id INTEGER PRIMARY KEY, source TEXT NOT NULL, event_key TEXT NOT NULL, received_at REAL NOT NULL,
    status TEXT NOT NULL, summary TEXT NOT NULL, pipeline TEXT, team TEXT NOT NULL, dedup_key TEXT NOT NULL, note TEXT NOT NULL,
    decision TEXT NOT NULL, alert TEXT NOT NULL, duplicates INTEGER NOT NULL DEFAULT 0, last_duplicate_at REAL,
    UNIQUE (source, event_key));
CREATE TABLE deliveries (id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts (id), kind TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, order_key INTEGER NOT NULL, body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, in_flight INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, next_at REAL NOT NULL, delivered_at REAL, error_code TEXT, last_error TEXT, result TEXT);
CREATE TABLE incidents (id INTEGER PRIMARY KEY, dedup_key TEXT NOT NULL UNIQUE, failure_key TEXT NOT NULL, pipeline TEXT,
    team TEXT NOT NULL, open INTEGER NOT NULL, paged INTEGER NOT NULL, announced INTEGER NOT NULL, channel TEXT,
    opened_alert INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value REAL NOT NULL);
PRAGMA user_version=1;
"""


def test_a_database_of_the_previous_schema_is_upgraded_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    import sqlite3

    from opsctl.router.store import open_store

    path = tmp_path / "router.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA)
    alert = (1, "generic", "e1", 1.0, "firing", "s", None, "data-eng", "k", "n", "{}", "{}", 0, None)
    old.execute("INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alert)
    old.execute("INSERT INTO incidents VALUES (1, 'k', 'f', NULL, 'data-eng', 1, 1, 0, NULL, 1, 1.0)")
    sent = "INSERT INTO deliveries (alert_id, kind, action, target, order_key, body, in_flight, created_at, next_at)"
    old.execute(sent + " VALUES (1, 'pagerduty', 'trigger', 'team:data-eng', 4, '{}', 1, 1.0, 1.0)")  # under way at the stop
    old.execute(sent + " VALUES (1, 'slack-channel', 'post', '#x', 5, '{}', 0, 1.0, 1.0)")
    old.commit()
    old.close()
    store = open_store(path)
    with store.connection(durable=False) as conn:
        assert store.one(conn, "PRAGMA user_version")[0] == 3
        claimed = store.claim_pagerduty(conn, 10.0, 10, "w1")
        assert [(d.id, d.unsure) for d in claimed] == [(1, True)]  # it may have been sent: sent again, harmlessly
        [post] = store.claim_for_target(conn, "slack-channel", "#x", 10.0, 10, "w1", action="post")
        assert not post.unsure
        assert store.list_alerts(conn)[0].effect == "nothing"
        _the_watchdogs_tables_work(store, conn)


def _the_watchdogs_tables_work(store: Any, conn: Any) -> None:
    from opsctl.router.store.freshness import lease_holder, mark_stale, record_success, seen_all, take_lease

    with store.transaction(conn):
        assert take_lease(store, conn, "freshness-watchdog", "w1", 15.0)
        assert not take_lease(store, conn, "freshness-watchdog", "w2", 15.0)  # held by w1
        assert take_lease(store, conn, "freshness-watchdog", "w1", -1.0)  # w1 renews it, lapsed already
        assert take_lease(store, conn, "freshness-watchdog", "w2", 15.0)  # lapsed: w2 takes it
        assert lease_holder(store, conn, "freshness-watchdog") == "w2"
        record_success(store, conn, "p", 20.0, "airflow")
        assert not mark_stale(store, conn, "p", 19.0, 19.0, 30.0)  # a success came after what was read
        assert mark_stale(store, conn, "p", 20.0, 20.0, 30.0)
        assert not mark_stale(store, conn, "p", 20.0, 20.0, 31.0)  # already marked
        assert seen_all(store, conn)["p"].stale_at == 30.0


def test_a_database_of_schema_2_gets_the_watchdogs_tables(tmp_path: Path) -> None:
    import sqlite3

    from opsctl.router.store import open_store

    path = tmp_path / "router.sqlite3"
    with open_store(path).connection() as conn:  # today's schema, then back to version 2's
        conn.execute("DROP TABLE freshness")
        conn.execute("DROP TABLE leases")
        conn.execute("PRAGMA user_version=2")
    old = sqlite3.connect(path)
    assert {row[0] for row in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {"alerts", "workers"}
    old.close()
    store = open_store(path)
    with store.connection(durable=False) as conn:
        assert store.one(conn, "PRAGMA user_version")[0] == 3
        _the_watchdogs_tables_work(store, conn)


def test_on_sqlite_a_worker_round_records_and_claims_in_one_write_transaction(tmp_path: Path) -> None:
    from opsctl.router.store import open_store

    store = open_store(tmp_path / "router.sqlite3")
    with store.connection(durable=False) as conn:
        store.execute(
            conn,
            "INSERT INTO alerts (id, source, event_key, received_at, status, summary, team, dedup_key, note, decision, alert)"
            " VALUES (1, 'generic', 'e1', 1.0, 'firing', 's', 'data-eng', 'k', 'n', '{}', '{}')",
        )
        for order_key in (4, 8):  # two incidents' triggers
            store.execute(
                conn,
                "INSERT INTO deliveries (alert_id, kind, action, target, order_key, body, created_at, next_at)"
                " VALUES (1, 'pagerduty', 'trigger', 'team:data-eng', ?, '{}', 1.0, 1.0)",
                (order_key,),
            )
        [first] = store.claim_pagerduty(conn, 10.0, 1, "w1")
        steps = store.outcome_steps(
            "w1",
            11.0,
            delivered={'{"status": 202}': [first.id]},
            deferred=[],
            failed=[],
            retried=[],
            paused={},
            counters={"delivered_total:pagerduty": 1.0},
            rows_per_step=200,
        )
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        [second] = store.claim_pagerduty(conn, 11.0, 10, "w1", steps=steps)
        conn.set_trace_callback(None)
        assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == ["BEGIN IMMEDIATE", "COMMIT"]
        rows = store.all(conn, "SELECT id, state, lease_owner, attempts FROM deliveries ORDER BY id")
        assert rows == [(first.id, "delivered", None, 1), (second.id, "pending", "w1", 1)]
        assert store.counters(conn)["delivered_total:pagerduty"] == 1.0
