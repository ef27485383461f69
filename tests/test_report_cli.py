"""`opsctl report` and the site's health page end to end: a real router (live server on
loopback, a real SQLite file, the delivery worker and the vendor fakes) routes a fortnight
of alerts for a small org, then the command line reports on its database."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from opsctl.repo.loader import load_working_tree
from tests.postgres_support import free_port, fresh_schema, no_server_reason, server_url
from tests.router_support import Router, running_router, wait_until
from tests.support import run, write_tree

OWNERSHIP = """\
settings:
  org_name: Tiny Data
  default_team: t
  working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
  mttr_goal: 1h30m
people:
  - {id: ana, name: Ana Berg, email: ana@example.com, timezone: Europe/Berlin, country: DE, subdivision: BE}
  - {id: bo, name: Bo Reyes, email: bo@example.com, timezone: America/Chicago, country: US, subdivision: IL}
teams:
  - {id: t, name: Team T, members: [ana, bo], lead: ana, slack_channel: "#t"}
pipelines:
  - {id: crit, name: Critical numbers, team: t, primary: ana, secondary: bo, tier: investor-facing, freshness_sla: 1d,
     alerts: {dag_ids: [crit]}}
  - {id: exp, name: Experiment, team: t, primary: bo, secondary: ana, tier: experiment, freshness_sla: 1d,
     alerts: {dag_ids: [exp]}}
  - {id: exp2, name: Second experiment, team: t, primary: ana, secondary: bo, tier: experiment, freshness_sla: 1d,
     alerts: {dag_ids: [exp2]}}
"""
ROTATION = """\
id: t-weekly
team: t
members: [ana, bo]
timezone: Europe/Berlin
start: 2026-03-02
handoff: "09:00"
depth: 2
public_holidays: false
"""
PERIOD = ("--from", "2026-03-02", "--to", "2026-03-16")
"""Ana is primary the first week (from Monday 09:00 Berlin), Bo the second; Chicago moves to
daylight saving time on Sunday 8 March, Berlin only on the 29th."""


@dataclass
class Routed:
    root: Path
    db: str
    """A SQLite file, or a PostgreSQL URL."""


def _fail(dag: str, run_id: str) -> dict[str, Any]:
    return {"dag_id": dag, "task_id": "load", "run_id": run_id, "try_number": 1, "exception": "boom"}


def _ok(dag: str, run_id: str) -> dict[str, Any]:
    return {"dag_id": dag, "run_id": run_id, "state": "success"}


def _route(router: Router, clock: list[datetime]) -> None:
    def at(when: str, source: str, payload: dict[str, Any]) -> None:
        clock[0] = datetime.fromisoformat(when)
        answer = router.post(source, payload)
        assert answer.status == 202, answer.text

    # before the period: opened and resolved, so the next crit failure is a new one
    at("2026-03-01T12:00Z", "airflow", _fail("crit", "r0"))
    at("2026-03-01T13:00Z", "airflow", _ok("crit", "r0"))
    # Wednesday 10:00 in Berlin: Ana, crit's owner, is at work; a repeat and a resent duplicate
    at("2026-03-04T09:00Z", "airflow", _fail("crit", "r1"))
    at("2026-03-04T09:20Z", "airflow", _fail("crit", "r2"))
    at("2026-03-04T09:21Z", "airflow", _fail("crit", "r2"))
    at("2026-03-04T10:00Z", "airflow", _ok("crit", "r2"))
    # Saturday 02:30 in Berlin: both owners are off, so Ana is paged as the on-call; 4 h to resolve
    at("2026-03-07T01:30Z", "airflow", _fail("crit", "r3"))
    at("2026-03-07T05:30Z", "airflow", _ok("crit", "r3"))
    at("2026-03-07T05:40Z", "airflow", _ok("crit", "r3-again"))  # nothing open: resolves nothing
    # Sunday: an experiment waits in Slack; its repeat on Monday 09:30 in Chicago (daylight
    # saving time since Sunday: 08:30 in standard time) pages Bo; still open
    at("2026-03-08T08:30Z", "airflow", _fail("exp", "r1"))
    at("2026-03-09T14:30Z", "airflow", _fail("exp", "r2"))
    # Tuesday: an alert of no pipeline goes to the team's on-call, Bo this week
    at("2026-03-10T20:00Z", "generic", {"summary": "warehouse disk full", "team": "t", "dedup_key": "disk"})
    at("2026-03-10T20:30Z", "generic", {"summary": "warehouse disk full", "team": "t", "dedup_key": "disk", "status": "resolved"})
    # Saturday evening: another experiment only waits in Slack, and is fixed on Sunday
    at("2026-03-14T20:00Z", "airflow", _fail("exp2", "r1"))
    at("2026-03-15T10:00Z", "airflow", _ok("exp2", "r1"))
    # after the period
    at("2026-03-17T09:00Z", "airflow", _fail("crit", "r4"))


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routed]:
    base = tmp_path_factory.mktemp("report")
    root = write_tree(base / "repo", {"ownership.yaml": OWNERSHIP, "rotations/t-weekly.yaml": ROTATION})
    org = load_working_tree(root).require_ok()
    clock = [datetime.fromisoformat("2026-03-01T00:00Z")]
    with running_router(base, org, clock=lambda: clock[0], root=root) as router:
        _route(router, clock)
        wait_until(router.settled)
        assert router.pd.rejected == [] and router.slack.rejected == []
        yield Routed(root, router.database)


@pytest.fixture(scope="module")
def routed_on_postgres(routed: Routed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Routed]:
    """The same alerts routed into PostgreSQL (a schema of its own on the shared server)."""
    server = server_url()
    if server is None:
        pytest.skip(no_server_reason())
    org = load_working_tree(routed.root).require_ok()
    clock = [datetime.fromisoformat("2026-03-01T00:00Z")]
    with (
        fresh_schema(server) as database,
        running_router(
            tmp_path_factory.mktemp("report-pg"), org, clock=lambda: clock[0], root=routed.root, database=database
        ) as router,
    ):
        _route(router, clock)
        wait_until(router.settled)
        yield Routed(routed.root, database)


def report(routed: Routed, *args: str) -> Any:
    result = run("report", "--db", str(routed.db), *args, root=routed.root)
    assert result.exit_code == 0, result.stderr
    return result


def test_the_report_counts_what_the_router_routed(routed: Routed) -> None:
    data = json.loads(report(routed, *PERIOD, "--format", "json").stdout)
    assert data["from"] == "2026-03-02T00:00:00+00:00" and data["to"] == "2026-03-16T00:00:00+00:00"
    assert data["mttr_goal_seconds"] == 5400
    total = data["total"]
    assert {key: value for key, value in total.items() if key != "time_to_resolve"} == {
        "team": None,
        "name": "All teams",
        "alerts": 5,
        "paged": 4,
        "held": 1,
        "pages": 4,
        "off_hours": 1,
        "night": 1,
        "weekend": 1,
        "holiday": 0,
        "repeats": 3,
        "grouped": 0,
    }
    resolve = total["time_to_resolve"]
    assert resolve | {"open_over_goal": None} == {
        "goal_seconds": 5400,
        "meets_goal": False,
        "resolved": 3,
        "open": 1,
        "mean_seconds": 6600,  # (1 h + 4 h + 30 min) / 3
        "median_seconds": 3600,
        "p90_seconds": 14400,
        "longest_seconds": 14400,
        "within_goal": 2,
        "over_goal": 1,
        "open_over_goal": None,
    }
    assert [(p["pipeline"], p["alerts"], p["repeats"], p["pages"]) for p in data["pipelines"]] == [
        ("crit", 2, 2, 2),
        ("exp", 1, 1, 1),
        (None, 1, 0, 1),
        ("exp2", 1, 0, 0),
    ]
    assert data["failures"][0]["key"] == "opsctl:crit:airflow:crit"
    people = {row["person"]: row for row in data["people"]}
    assert {key: people["ana"][key] for key in ("pages", "as_owner", "as_oncall", "off_hours", "night", "weekend")} == {
        "pages": 2,
        "as_owner": 1,
        "as_oncall": 1,
        "off_hours": 1,
        "night": 1,
        "weekend": 1,
    }
    assert {key: people["bo"][key] for key in ("pages", "as_owner", "as_oncall", "off_hours", "night", "weekend")} == {
        "pages": 2,
        "as_owner": 1,
        "as_oncall": 1,
        "off_hours": 0,
        "night": 0,
        "weekend": 0,
    }
    # on call from the first handoff (Monday 2 March 09:00 Berlin) to the end: 328 h each, as fairness counts
    assert [people[p]["oncall_primary_hours"] + people[p]["oncall_secondary_hours"] for p in ("ana", "bo")] == [328, 328]
    assert people["ana"]["oncall_pages_per_week"] == 0.51
    days = data["series"]["buckets"]
    assert data["series"]["bucket"] == "day" and len(days) == 14
    assert [
        (d["start"], d["pages_in_hours"], d["pages_off_hours"]) for d in days if d["pages_in_hours"] or d["pages_off_hours"]
    ] == [
        ("2026-03-04", 1, 0),
        ("2026-03-07", 0, 1),
        ("2026-03-09", 1, 0),
        ("2026-03-10", 1, 0),
    ]


def test_the_text_report_for_a_pipe_fits_columns(routed: Routed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = report(routed, *PERIOD).stdout
    assert max(len(line) for line in out.splitlines()) <= 100
    assert out == EXPECTED_TEXT


EXPECTED_TEXT = """\
On-call health, all teams: 2026-03-02 00:00 to 2026-03-16 00:00 (UTC)
5 failures: 4 paged, 1 held in Slack for the morning; 3 repeats coalesced, 0 grouped into another
pipeline's incident
4 pages: 1 outside working hours (1 at night, 1 on a weekend, 0 on a public holiday)
Time to resolve: MTTR 1h50m, over the goal of 1h30m; median 1h, p90 4h, longest 4h; 2 of 3 resolved
within the goal; 1 still open, 1 of them past the goal

Teams
TEAM    FAILURES  HELD  PAGES  OFF-HOURS  NIGHT  WEEKEND  HOLIDAY  REPEATS     MTTR  IN GOAL  OPEN
Team T         5     1      4          1      1        1        0        3  1h50m ✗      2/3     1
(left out to fit 100 columns: Grouped)

Noisiest pipelines
PIPELINE     TEAM  TIER             FAILURES  PAGES  OFF-HOURS  REPEATS     MTTR  IN GOAL  OPEN
crit         t     investor-facing         2      2          1        2  2h30m ✗      1/2     0
exp          t     experiment              1      1          0        1        —        —     1
(unmatched)  t     —                       1      1          0        0    30m ✓      1/1     0
exp2         t     experiment              1      0          0        0        —        —     0
(left out to fit 100 columns: Grouped, Holiday, Weekend, Night, Held)

Noisiest failures
PIPELINE  FAILURES  REPEATS  GROUPED  PAGES   MTTR  OPEN  SUMMARY
crit             2        2        0      2  2h30m     0  Airflow DAG crit: task load failed (run
                                                          r3, try 1): boom
exp              1        1        0      1      —     1  Airflow DAG exp: task load failed (run r1,
                                                          try 1): boom
(t)              1        0        0      1    30m     0  warehouse disk full
exp2             1        0        0      0      —     0  Airflow DAG exp2: task load failed (run
                                                          r1, try 1): boom

People: pages and on-call hours (from fairness)
PERSON          PAGES  OWNER  ON-CALL  OFF-HOURS  NIGHT  WEEKEND  ON-CALL H  PAGES/WK ON CALL  FLAGS
Ana Berg (ana)      2      1        1          1      1        1        328               0.5
Bo Reyes (bo)       2      1        1          0      0        0        328               0.5
(left out to fit 100 columns: Lead, Holiday)

Held: posted to Slack for the morning, not paged. Off-hours, Night (22:00-07:00), Weekend and
Holiday count pages, each in the paged person's own time zone, working days and public holidays.
MTTR: mean time to resolve the failures that paged (✓ within the goal of 1h30m, ✗ over it); In goal:
resolved within it. Pages/wk on call: pages as the on-call per week on call.
"""


def test_the_report_draws_its_tables_as_every_command_does(routed: Routed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    boxed = report(routed, *PERIOD, "--format", "table").stdout
    assert max(len(line) for line in boxed.splitlines()) <= 80
    assert "┃ Person         ┃ Pages ┃" in boxed  # the people table fits whole in a box
    assert "(left out to fit 80 columns: Lead, Holiday, Weekend, Night, Pages/wk on call)" in boxed
    lines = [line.rstrip() for line in boxed.splitlines()]
    summary = [line.split("  ")[-1].strip() for line in lines[lines.index("Noisiest failures") :]]
    assert summary[3:6] == ["Airflow DAG crit: task", "load failed (run r3,", "try 1): boom"]  # wrapped at spaces
    monkeypatch.delenv("COLUMNS")
    piped = report(routed, *PERIOD).stdout  # piped without $COLUMNS: no limit, nothing left out
    assert "left out" not in piped and "│" not in piped
    whole = "crit             2        2        0      2  2h30m     0  Airflow DAG crit: task load failed (run r3, try 1): boom"
    assert whole in piped.splitlines()
    assert report(routed, *PERIOD, "--format", "plain").stdout == piped


def test_a_period_holds_the_failures_whose_first_alert_came_in_it(routed: Routed) -> None:
    week = json.loads(report(routed, "--from", "2026-03-02", "--weeks", "1", "--format", "json").stdout)
    assert week["to"] == "2026-03-09T00:00:00+00:00"
    assert (week["total"]["alerts"], week["total"]["held"]) == (3, 0)  # the experiment of Sunday paged on Monday
    before = json.loads(report(routed, "--to", "2026-03-02", "--weeks", "1", "--format", "json").stdout)
    assert before["total"]["alerts"] == 1
    assert before["total"]["time_to_resolve"]["mean_seconds"] == 3600


def test_a_team_and_errors(routed: Routed) -> None:
    team = json.loads(report(routed, *PERIOD, "--team", "t", "--format", "json").stdout)
    assert team["team"] == "t" and team["total"]["name"] == "Team T" and team["total"]["alerts"] == 5
    cases = [
        (("--team", "tt"), "opsctl: unknown team 'tt' (did you mean 't'?)\n"),
        (("--from", "2026-03-16", "--to", "2026-03-02"), "opsctl: --to must be after --from\n"),
        (
            ("--from", "2026-03-02", "--to", "2026-03-16", "--weeks", "2"),
            "opsctl: give at most two of --from, --to and --weeks\n",
        ),
        (
            ("--from", "yesterday"),
            "opsctl: --from: cannot read 'yesterday' as a time; use now, 2026-12-24, 2026-12-24T09:00,"
            " 2026-12-24T09:00+01:00 or +3d\n",
        ),
    ]
    for args, message in cases:
        result = run("report", "--db", str(routed.db), *args, root=routed.root)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    missing = routed.root / "nothing.sqlite3"
    result = run("report", "--db", str(missing), root=routed.root)
    assert (result.exit_code, result.stderr) == (
        2,
        f"opsctl: no alert database at {missing}: opsctl serve creates it (--db or OPSCTL_ROUTER_DB point at another)\n",
    )
    assert not missing.exists()
    garbage = routed.root / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    result = run("report", "--db", str(garbage), root=routed.root)
    assert (result.exit_code, result.stderr) == (
        2,
        f"opsctl: {garbage}: cannot open the alert database: file is not a database\n",
    )
    result = run("runbooks", "render", "--out", str(routed.root / "site"), "--alerts-db", str(missing), root=routed.root)
    assert (result.exit_code, result.stderr) == (
        2,
        f"opsctl: no alert database at {missing}: opsctl serve creates it (--alerts-db or OPSCTL_ROUTER_DB point at another)\n",
    )
    assert not (routed.root / "site").exists()


def test_the_site_gets_a_health_page_with_charts(routed: Routed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_ROUTER_DB", str(routed.db))  # the router's database is found as opsctl serve finds it
    html = tmp_path / "site"
    result = run(
        "runbooks", "render", "--out", str(html), "--at", "2026-03-16T00:00Z", "--health-weeks", "2", "--no-git", root=routed.root
    )
    assert result.exit_code == 0, result.stderr
    page = (html / "health.html").read_text("utf-8")
    charts = [ET.fromstring(svg) for svg in _svgs(page)]
    assert [chart.find("{http://www.w3.org/2000/svg}title").text for chart in charts] == [  # type: ignore[union-attr]
        "Pages per day",
        "Time to resolve",
        "Noisiest pipelines",
        "Pages per person, and hours on call",
    ]
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing to download
    assert '<a href="health.html">On-call health</a>' in (html / "index.html").read_text("utf-8")

    md = tmp_path / "md"
    result = run(
        "runbooks",
        "render",
        "--format",
        "md",
        "--out",
        str(md),
        "--at",
        "2026-03-16T00:00Z",
        "--health-weeks",
        "2",
        "--no-git",
        root=routed.root,
    )
    assert result.exit_code == 0, result.stderr
    text = (md / "health.md").read_text("utf-8")
    assert "<svg" not in text
    assert "| 2026-03-07 | 1 | 0 | 0 | 1 | 1 | 4h |" in text
    assert "[on-call health](health.md)" in (md / "README.md").read_text("utf-8")

    monkeypatch.setenv("OPSCTL_ROUTER_DB", str(tmp_path / "none.sqlite3"))  # no database: no page, and the old one goes
    result = run("runbooks", "render", "--out", str(html), "--at", "2026-03-16T00:00Z", "--no-git", root=routed.root)
    assert result.exit_code == 0, result.stderr
    assert not (html / "health.html").exists()
    assert "health.html" not in (html / "index.html").read_text("utf-8")


def _svgs(page: str) -> list[str]:
    found, rest = [], page
    while "<svg" in rest:
        start = rest.index("<svg")
        end = rest.index("</svg>", start) + len("</svg>")
        found.append(rest[start:end])
        rest = rest[end:]
    return found


def test_the_report_and_the_health_page_read_postgresql_as_they_read_sqlite(
    routed: Routed, routed_on_postgres: Routed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert routed_on_postgres.db.startswith("postgresql://")
    for args in ((*PERIOD, "--format", "json"), (*PERIOD, "--format", "plain"), ("--team", "t", *PERIOD, "--format", "json")):
        assert report(routed_on_postgres, *args).stdout == report(routed, *args).stdout
    sites = {}
    for name, where in (("sqlite", routed.db), ("postgresql", routed_on_postgres.db)):
        monkeypatch.setenv("OPSCTL_ROUTER_DB", where)  # found as opsctl serve finds it, URL or file
        out = tmp_path / name
        at = ("--at", "2026-03-16T00:00Z", "--health-weeks", "2", "--no-git", "--format", "md")
        result = run("runbooks", "render", "--out", str(out), *at, root=routed.root)
        assert result.exit_code == 0, result.stderr
        sites[name] = (out / "health.md").read_text("utf-8")
    assert "| 2026-03-07 | 1 | 0 | 0 | 1 | 1 | 4h |" in sites["postgresql"]
    assert sites["postgresql"] == sites["sqlite"]
    monkeypatch.delenv("OPSCTL_ROUTER_DB")
    result = run("runbooks", "render", "--out", str(tmp_path / "html"), "--alerts-db", routed_on_postgres.db, root=routed.root)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "html" / "health.html").is_file()


def test_an_unreachable_postgresql_server_is_one_line(routed: Routed, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://opsctl:secret@127.0.0.1:{port}/test"
    shown = f"postgresql://opsctl:***@127.0.0.1:{port}/test"
    refused = (
        f"opsctl: {shown}: cannot open the alert database: connection failed: connection to server at"
        f' "127.0.0.1", port {port} failed: Connection refused\n'
    )
    for args in (
        ("report", "--db", url),
        ("runbooks", "render", "--out", str(tmp_path / "site"), "--alerts-db", url),
        ("alerts", "--db", url, "list"),
    ):
        result = run(*args, root=routed.root)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", refused), args
    assert not (tmp_path / "site").exists()
