"""The freshness watchdog end to end: a live server on loopback with an injected clock, a real
SQLite file, the delivery worker and the PagerDuty and Slack fakes. A pipeline silent past
its SLA pages once through the same chain as a failure; its next success resolves it; the
watchdog's state survives a restart; a pipeline never heard from is not paged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.router.freshness import Seen, Watch, check, status, watches, words
from tests.router_support import Router, running_router, wait_until
from tests.support import REPO_ROOT

WEDNESDAY_MORNING = datetime.fromisoformat("2026-12-02T10:00+01:00")
PROFIT = "aggregate_profit_investors"
"""Investor-facing, SLA 6 h, so its grace is 36 min (a tenth)."""
STALE_KEY = f"opsctl:{PROFIT}:stale"


@pytest.fixture(scope="module")
def org() -> Org:
    return load_working_tree(REPO_ROOT).require_ok()


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY_MORNING)


def watched(tmp_path: Path, org: Org, clock: Clock, **kwargs: Any) -> Any:
    return running_router(tmp_path, org, clock=clock, watchdog=True, watchdog_interval=0.02, **kwargs)


def checks_pass(router: Router, count: int = 3) -> None:
    """Wait until the watchdog ran ``count`` more checks."""
    stats = router.extra["app"].state.watchdog.stats
    start = stats.checks
    wait_until(lambda: stats.checks >= start + count)


def success(router: Router, pipeline: str = PROFIT, run_id: str = "scheduled__1") -> None:
    payload = {"dag_id": pipeline, "run_id": run_id, "state": "success"}
    answer = router.post("airflow", payload)
    assert answer.status == 202, answer.text


def stale_alerts(router: Router) -> list[tuple[Any, ...]]:
    return router.query("SELECT status, summary, dedup_key, effect FROM alerts WHERE source = 'watchdog' ORDER BY id")


def pages(router: Router) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"]) for e in router.pd.events if e["dedup_key"] == STALE_KEY]


def test_silence_past_the_sla_pages_once_and_the_next_success_resolves(tmp_path: Path, org: Org, clock: Clock) -> None:
    with watched(tmp_path, org, clock) as router:
        success(router)
        assert router.query("SELECT pipeline, source FROM freshness") == [(PROFIT, "airflow")]
        clock.advance(hours=6, minutes=35)  # past the SLA, inside the grace
        checks_pass(router)
        assert stale_alerts(router) == []
        clock.advance(minutes=2)
        wait_until(lambda: stale_alerts(router))
        wait_until(router.settled)
        assert stale_alerts(router) == [("firing", "no successful run for 6 h 37 min, SLA 6 h", STALE_KEY, "opened")]
        [trigger] = [e for e in router.pd.events if e["dedup_key"] == STALE_KEY]
        assert trigger["payload"]["summary"] == (
            "[investor-facing] Aggregate Profit for Investors: no successful run for 6 h 37 min, SLA 6 h"
        )
        assert trigger["payload"]["source"] == "opsctl/watchdog"
        [post] = router.slack.channel("#data-eng-alerts").messages  # type: ignore[union-attr]
        assert post["text"].startswith(
            ":rotating_light: *Aggregate Profit for Investors (aggregate_profit_investors)*: "
            "no successful run for 6 h 37 min, SLA 6 h\n"
        )
        clock.advance(hours=2)  # still silent: nothing more
        checks_pass(router)
        assert len(stale_alerts(router)) == 1
        success(router, run_id="scheduled__2")
        wait_until(router.settled)
        assert [s[0] for s in stale_alerts(router)] == ["firing", "resolved"]
        assert stale_alerts(router)[1][1] == "a successful run (airflow) after 2 h stale"
        assert pages(router) == [("trigger", STALE_KEY), ("resolve", STALE_KEY)]
        _, reply = router.slack.channel("#data-eng-alerts").messages  # type: ignore[union-attr]
        assert reply["text"] == (
            ":white_check_mark: Resolved: *Aggregate Profit for Investors (aggregate_profit_investors)*: "
            "a successful run (airflow) after 2 h stale"
        )
        assert router.query("SELECT stale_at FROM freshness") == [(None,)]


def test_a_heartbeat_counts_as_a_success(tmp_path: Path, org: Org, clock: Clock) -> None:
    with watched(tmp_path, org, clock) as router:
        answer = router.heartbeat(PROFIT, b'{"note": "cron ran"}')
        assert answer.status == 202, answer.text
        assert answer.json() == {"status": "recorded", "pipeline": PROFIT, "at": "2026-12-02T09:00:00+00:00", "resolved": None}
        clock.advance(hours=7)
        wait_until(lambda: stale_alerts(router))
        answer = router.heartbeat("investor%20profit")  # an alias works as the id does
        assert answer.status == 202, answer.text
        assert answer.json()["resolved"] is not None
        wait_until(router.settled)
        assert pages(router) == [("trigger", STALE_KEY), ("resolve", STALE_KEY)]
        assert stale_alerts(router)[1][1] == "a heartbeat after 0 s stale"


def test_a_heartbeat_is_refused_without_its_token_or_for_an_unknown_pipeline(tmp_path: Path, org: Org, clock: Clock) -> None:
    from tests.router_support import request

    with watched(tmp_path, org, clock) as router:
        answer = request(f"{router.url}/v1/heartbeats/{PROFIT}", "POST", b"", {"Authorization": "Bearer wrong"})
        assert answer.status == 401
        assert answer.json()["message"] == "wrong token for source 'heartbeat'"
        answer = router.heartbeat("aggregate_profit_investor")
        assert answer.status == 404
        assert answer.json()["message"] == (
            "unknown pipeline 'aggregate_profit_investor' (did you mean 'aggregate_profit_investors'?)"
        )
        answer = router.heartbeat(PROFIT, b'{"note": 3}')
        assert answer.status == 422
        assert router.query("SELECT count(*) FROM freshness") == [(0,)]


def test_the_watchdog_resumes_after_a_restart_without_paging_twice(tmp_path: Path, org: Org, clock: Clock) -> None:
    database = str(tmp_path / "router.sqlite3")
    for name in "abc":
        (tmp_path / name).mkdir()
    with watched(tmp_path / "a", org, clock, database=database) as router:
        success(router)
    clock.advance(hours=7)  # silent while the server was down
    with watched(tmp_path / "b", org, clock, database=database) as router:
        wait_until(lambda: stale_alerts(router))
        wait_until(router.settled)
        assert len(pages(router)) == 1
    clock.advance(hours=1)
    with watched(tmp_path / "c", org, clock, database=database) as router:
        checks_pass(router)
        wait_until(router.settled)
        assert pages(router) == []  # this server's PagerDuty fake: nothing new
        assert [a[0] for a in stale_alerts(router)] == ["firing"]
        success(router, run_id="scheduled__3")
        wait_until(router.settled)
        assert pages(router) == [("resolve", STALE_KEY)]


def test_a_pipeline_never_heard_from_is_paged_only_from_its_watch_start(tmp_path: Path, org: Org, clock: Clock) -> None:
    start = date(2026, 12, 3)  # midnight in Chicago (de2, its primary): 06:00 UTC
    pipelines = dict(org.pipelines) | {PROFIT: replace(org.pipelines[PROFIT], watch_from=start)}
    watching = replace(org, pipelines=pipelines)
    with watched(tmp_path, watching, clock) as router:
        clock.advance(days=1)  # 2026-12-03T09:00 UTC: watched for 3 h
        checks_pass(router)
        assert stale_alerts(router) == []
        clock.advance(hours=4)  # watched for 7 h: past 6 h + 36 min
        wait_until(lambda: stale_alerts(router))
        [(_, summary, _, _)] = stale_alerts(router)
        assert summary == "no successful run since watching began 7 h ago, SLA 6 h"
        others = router.query("SELECT count(*) FROM alerts WHERE source = 'watchdog' AND pipeline != ?", (PROFIT,))
        assert others == [(0,)]  # the other pipelines never reported and have no start: not paged


def test_metrics_give_each_pipelines_age_of_last_success(tmp_path: Path, org: Org, clock: Clock) -> None:
    from tests.router_support import request

    with watched(tmp_path, org, clock) as router:
        success(router)
        clock.advance(minutes=90)
        text = request(router.url + "/metrics").text
        assert f'opsctl_pipeline_last_success_age_seconds{{pipeline="{PROFIT}"}} 5400.000' in text.splitlines()
        assert f'opsctl_pipeline_freshness_sla_seconds{{pipeline="{PROFIT}"}} 21600' in text.splitlines()
        assert 'opsctl_pipeline_freshness_grace_seconds{pipeline="aggregate_profit_investors"} 2160' in text.splitlines()
        assert f'opsctl_pipeline_stale{{pipeline="{PROFIT}"}} 0' in text.splitlines()
        assert "unit_profit_experiments" not in text.split("opsctl_pipeline_last_success_age_seconds gauge")[1].split("#")[0]


# -- the decision alone ----------------------------------------------------------------------


def test_the_check_raises_each_silence_once_and_resolves_when_the_sla_grows() -> None:
    watch = Watch("p", sla=3600.0, grace=600.0)
    assert check([watch], {}, 1e9).stale == ()  # never heard from, no start
    heard = {"p": Seen("p", 1000.0, "airflow")}
    assert check([watch], heard, 1000.0 + 4199).stale == ()
    [stale] = check([watch], heard, 1000.0 + 4200).stale
    assert (stale.alert.event_key, stale.alert.failure_key, stale.last_success, stale.reference) == (
        "stale:p:1000.000",
        "stale",
        1000.0,
        1000.0,
    )
    marked = {"p": Seen("p", 1000.0, "airflow", stale_at=5200.0, reference=1000.0)}
    assert check([watch], marked, 9000.0).stale == ()  # open: nothing more
    longer = Watch("p", sla=36000.0, grace=600.0)
    [fresh] = check([longer], marked, 9000.0).fresh
    assert (fresh.status, fresh.summary) == ("resolved", "no longer stale: its SLA is now 10 h")
    assert status(watch, heard["p"], 1000.0 + 4000).state == "late"
    assert status(watch, None, 5.0).state == "unwatched"


def test_grace_comes_from_the_pipeline_then_its_tier_then_a_tenth_of_the_sla(org: Org) -> None:
    from opsctl.model import TierPolicy

    by_id = {w.pipeline: w for w in watches(org)}
    assert by_id[PROFIT].grace == 36 * 60  # a tenth of 6 h
    tiers = dict(org.settings.tiers) | {"investor-facing": TierPolicy(freshness_grace=timedelta(minutes=20))}
    pipelines = dict(org.pipelines) | {PROFIT: replace(org.pipelines[PROFIT], freshness_grace=timedelta(minutes=3))}
    changed = replace(org, settings=replace(org.settings, tiers=tiers), pipelines=pipelines)
    by_id = {w.pipeline: w for w in watches(changed)}
    assert by_id[PROFIT].grace == 180
    assert by_id["aggregate_growth_investors"].grace == 1200
    short = replace(org, pipelines={PROFIT: replace(org.pipelines[PROFIT], freshness_sla=timedelta(minutes=15))})
    assert watches(short)[0].grace == 300  # at least 5 min


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(42, "42 s"), (600, "10 min"), (18600, "5 h 10 min"), (7200, "2 h"), (3 * 86400 + 7200, "3 d 2 h")],
)
def test_spans_read_as_people_say_them(seconds: float, text: str) -> None:
    assert words(seconds) == text


# -- several replicas on PostgreSQL ------------------------------------------------------------


@pytest.fixture
def postgres() -> Iterator[str]:
    from tests.postgres_support import fresh_schema, no_server_reason, server_url

    url = server_url()
    if url is None:
        pytest.skip(no_server_reason())
    with fresh_schema(url) as database:
        yield database


def test_two_replicas_raise_one_stale_alert_and_the_other_takes_over(
    tmp_path: Path, org: Org, clock: Clock, postgres: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        watched(tmp_path / "a", org, clock, database=postgres) as first,
        watched(tmp_path / "b", org, clock, database=postgres) as second,
    ):
        success(first)
        clock.advance(hours=7)
        wait_until(lambda: stale_alerts(first))
        checks_pass(first, 10)
        checks_pass(second, 10)
        wait_until(first.settled)
        assert [a[0] for a in stale_alerts(first)] == ["firing"]
        assert len(pages(first) + pages(second)) == 1  # the two workers share the outbox: one trigger in all
        held = sorted(r.extra["app"].state.watchdog.stats.held > 0 for r in (first, second))
        assert held == [False, True]  # one replica checks; the other only tries the lease
        success(second, run_id="scheduled__2")  # a success reaching the other replica resolves it
        wait_until(first.settled)
        assert [a[0] for a in stale_alerts(first)] == ["firing", "resolved"]
        holder = first if first.extra["app"].state.watchdog.stats.held else second
        other = second if holder is first else first
        holder.server.stop()  # the checking replica stops (and gives its lease up)
        clock.advance(hours=7)
        wait_until(lambda: len(stale_alerts(other)) == 3)
        assert other.extra["app"].state.watchdog.stats.held > 0
        wait_until(other.settled)
        actions = [action for action, _ in pages(first) + pages(second)]
        assert sorted(actions) == ["resolve", "trigger", "trigger"]


# -- opsctl alerts stale -------------------------------------------------------------------------


def _filled_store(path: Path) -> None:
    from opsctl.router.store import open_store
    from opsctl.router.store.freshness import mark_stale, record_success

    store = open_store(path)
    three = datetime.fromisoformat("2026-12-02T03:00+00:00").timestamp()
    with store.connection() as conn, store.transaction(conn):
        record_success(store, conn, PROFIT, three, "airflow")
        record_success(store, conn, "unit_profit_experiments", three + 5 * 3600, "heartbeat")
        record_success(store, conn, "aggregate_growth_investors", three - 3600, "dbt-cloud")
        mark_stale(store, conn, "aggregate_growth_investors", three - 3600, three - 3600, three + 4.5 * 3600)


def test_alerts_stale_lists_every_pipeline_soonest_stale_first(tmp_path: Path) -> None:
    from tests.support import run

    _filled_store(tmp_path / "router.sqlite3")
    result = run("alerts", "--db", str(tmp_path / "router.sqlite3"), "stale", "--at", "2026-12-02T09:30Z", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "PIPELINE                        TIER             LAST SUCCESS (UTC)  FROM       SLA  GRACE   "
        "STALE IN             STATE\n"
        "aggregate_growth_investors      investor-facing  2026-12-02 02:00"
        "    dbt-cloud  4 h  24 min  stale for 3 h 6 min  stale, paged\n"
        "aggregate_profit_investors      investor-facing  2026-12-02 03:00"
        "    airflow    6 h  36 min  6 min                past its SLA\n"
        "unit_profit_experiments         experiment       2026-12-02 08:00"
        "    heartbeat  2 h  12 min  42 min               fresh\n"
        "daily_growth_experiments        experiment       never        "
        "                  3 h  18 min  not watched yet      never heard from\n"
        "aggregate_engagement_investors  investor-facing  never        "
        "                  5 h  30 min  not watched yet      never heard from\n"
    )
    data = json.loads(
        run("alerts", "--db", str(tmp_path / "router.sqlite3"), "stale", "--at", "2026-12-02T09:30Z", "--format", "json").stdout
    )
    assert data[1] == {
        "pipeline": PROFIT,
        "state": "late",
        "alert_open": False,
        "last_success": "2026-12-02T03:00:00+00:00",
        "source": "airflow",
        "age_seconds": 23400.0,
        "freshness_sla_seconds": 21600.0,
        "grace_seconds": 2160.0,
        "stale_in_seconds": 360.0,
        "tier": "investor-facing",
    }


def test_alerts_stale_on_80_columns_leaves_out_the_source_grace_and_tier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import run

    _filled_store(tmp_path / "router.sqlite3")
    monkeypatch.setenv("COLUMNS", "80")
    result = run("alerts", "--db", str(tmp_path / "router.sqlite3"), "stale", "--at", "2026-12-02T09:30Z", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "PIPELINE                        LAST SUCCESS   SLA  STALE IN       STATE\n"
        "                                (UTC)\n"
        "aggregate_growth_investors      2026-12-02     4 h  stale for 3 h  stale, paged\n"
        "                                02:00               6 min\n"
        "aggregate_profit_investors      2026-12-02     6 h  6 min          past its SLA\n"
        "                                03:00\n"
        "unit_profit_experiments         2026-12-02     2 h  42 min         fresh\n"
        "                                08:00\n"
        "daily_growth_experiments        never          3 h  not watched    never heard\n"
        "                                                    yet            from\n"
        "aggregate_engagement_investors  never          5 h  not watched    never heard\n"
        "                                                    yet            from\n"
        "(left out to fit 80 columns: From, Grace, Tier)\n"
    )


def test_alerts_stale_without_a_database_says_where_it_looked(tmp_path: Path) -> None:
    from tests.support import run

    result = run("alerts", "--db", str(tmp_path / "none.sqlite3"), "stale", root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr == (
        f"opsctl: no alert database at {tmp_path / 'none.sqlite3'}: opsctl serve creates it"
        " (--db or OPSCTL_ROUTER_DB point at another)\n"
    )


def test_the_pipeline_pages_show_the_last_success_beside_the_sla(tmp_path: Path) -> None:
    from tests.support import copy_example, run

    root = copy_example(tmp_path / "repo")
    _filled_store(root / "opsctl-router.sqlite3")  # the router's database, found without --alerts-db
    args = ("runbooks", "render", "--format", "md", "--out", str(tmp_path / "md"), "--at", "2026-12-02T09:30Z", "--no-git")
    result = run(*args, root=root)
    assert result.exit_code == 0, result.output
    pages = tmp_path / "md" / "pipelines"
    lines = {path.stem: path.read_text().splitlines()[7] for path in pages.glob("*.md")}
    assert lines["aggregate_growth_investors"] == (
        "Last success **2026-12-02 02:00 UTC** (dbt-cloud) · stale, owners paged · stale for 3 h 6 min (grace 24m)"
    )
    assert lines[PROFIT] == "Last success **2026-12-02 03:00 UTC** (airflow) · past its SLA · stale in 6 min (grace 36m)"
    assert lines["daily_growth_experiments"] == "Last success **never** · never heard from (grace 18m)"
    html = run("runbooks", "render", "--out", str(tmp_path / "html"), "--at", "2026-12-02T09:30Z", "--no-git", root=root)
    assert html.exit_code == 0, html.output
    text = (tmp_path / "html" / "pipelines" / "aggregate_growth_investors.html").read_text()
    assert "<span>last success <strong>2026-12-02 02:00 UTC</strong> (dbt-cloud)</span>" in text
    assert '<span class="badge warn">stale, owners paged · stale for 3 h 6 min (grace 24m)</span>' in text


def test_which_resolves_count_as_a_success(tmp_path: Path, org: Org, clock: Clock) -> None:
    with watched(tmp_path, org, clock) as router:
        generic = {"summary": "nightly export ran", "pipeline": "daily growth", "status": "ok", "dedup_key": "export"}
        assert router.post("generic", generic).status == 202
        alertmanager = {
            "version": "4",
            "status": "resolved",
            "alerts": [{"status": "resolved", "labels": {"pipeline": PROFIT, "alertname": "RowsLate"}, "fingerprint": "f1"}],
        }
        assert router.post("alertmanager", alertmanager).status == 202
        failure = {"dag_id": "unit_profit_experiments", "run_id": "r1", "state": "failed"}
        assert router.post("airflow", failure).status == 202
        # a rule that stops firing, or a failure, says nothing about the pipeline delivering
        assert router.query("SELECT pipeline, source FROM freshness") == [("daily_growth_experiments", "generic")]
