"""The sync, notify and doctor commands end to end: exit codes, exact output, tokens never shown."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from tests.fakes.base import Fault
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.support import REPO_ROOT, run
from tests.sync.support import EXAMPLE, NOW, PD_TOKEN, SLACK_TOKEN, applied_example, cli_env, slack_writes, write_example

AT = ["--at", NOW.isoformat()]
CASES = Path(__file__).parent / "cases"


def no_tokens(*results: Result) -> None:
    for result in results:
        for text in (result.stdout, result.stderr):
            assert PD_TOKEN not in text and SLACK_TOKEN not in text
            assert "secret" not in text


def golden(name: str, text: str) -> None:
    path = CASES / name
    if os.environ.get("OPSCTL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text("utf-8"), f"{name} differs (OPSCTL_UPDATE_GOLDEN=1 rewrites it; review the diff)"


def test_plan_text_and_json_for_the_example_org(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    text = run("sync", "pagerduty", *AT, root=REPO_ROOT)
    assert text.exit_code == 0, text.output
    golden("pagerduty-plan.txt", text.stdout)
    as_json = run("sync", "pagerduty", *AT, "--format", "json", root=REPO_ROOT)
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert [c["title"] for c in data["changes"]] == [
        line.split(" '", 1)[1].split("'", 1)[0] for line in text.stdout.splitlines() if line[:2] in ("+ ", "~ ", "- ")
    ]
    assert data["summary"] == {"create": 117, "update": 0, "delete": 0, "in_sync": 0, "drift": 0, "warnings": 0}
    assert data["applied"] is None and data["offline"] is False
    assert pd_fake.writes() == 0
    no_tokens(text, as_json)


def test_plan_of_an_edit_text_and_json(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Field-level updates, overrides made and removed, and a manual override, as people and tools see them."""
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "Data Platform on-call · primary"]
    dp2 = pd_fake.user_by_email(EXAMPLE.people["dp2"].email)["id"]  # type: ignore[index]
    pd_fake.add_override(schedule["id"], NOW + timedelta(days=1), NOW + timedelta(days=2), dp2)
    root = write_example(
        tmp_path / "ops",
        {
            "ownership.yaml": ("    pipeline_primary: 10m\n", "    pipeline_primary: 5m\n"),
            "rotations/time_off.yaml": (
                "time_off:\n",
                "time_off:\n  - person: ml1\n    start: 2026-12-08\n    end: 2026-12-09\n    reason: Dentist\n",
            ),
        },
    )
    cli_env(monkeypatch, pd=pd_fake)
    text = run("sync", "pagerduty", *AT, root=root)
    assert text.exit_code == 0
    golden("pagerduty-edit-plan.txt", text.stdout)
    as_json = run("sync", "pagerduty", *AT, "--format", "json", root=root)
    golden("pagerduty-edit-plan.json", as_json.stdout)
    check = run("sync", "pagerduty", *AT, "--check", root=root)
    assert check.exit_code == 1 and check.stdout == text.stdout
    assert pd_fake.writes() == 0


def test_apply_then_check(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    applied = run("sync", "pagerduty", *AT, "--apply", root=REPO_ROOT)
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1] == "Plan: 117 to create, 0 to update, 0 to delete, 0 in sync."
    assert applied.stderr == f"opsctl sync pagerduty: applied, {pd_fake.writes()} write(s)\n"
    pd_fake.reset_counts()
    check = run("sync", "pagerduty", *AT, "--check", root=REPO_ROOT)
    assert check.exit_code == 0
    assert check.stdout.endswith(
        "Nothing to change: 117 managed objects in sync.\n\nPlan: 0 to create, 0 to update, 0 to delete, 117 in sync.\n"
    )
    again = run("sync", "pagerduty", *AT, "--apply", "--format", "json", root=REPO_ROOT)
    assert json.loads(again.stdout)["applied"]["writes"] == 0
    assert pd_fake.writes() == 0
    no_tokens(applied, check, again)


def test_check_exits_1_on_a_manual_override(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch) -> None:
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "Data Platform on-call · primary"]
    dp2 = pd_fake.user_by_email(EXAMPLE.people["dp2"].email)["id"]  # type: ignore[index]
    pd_fake.add_override(schedule["id"], NOW + timedelta(days=1), NOW + timedelta(days=2), dp2)
    cli_env(monkeypatch, pd=pd_fake)
    check = run("sync", "pagerduty", *AT, "--check", root=REPO_ROOT)
    assert check.exit_code == 1
    assert "drift: schedule:platform-oncall:primary: manual override dp2 from 2026-11-24T01:00+01:00" in check.stdout
    assert check.stdout.splitlines()[-1] == "Plan: 0 to create, 0 to update, 0 to delete, 117 in sync, 1 drift finding."


def test_routing_keys_file(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    target = tmp_path / "keys.json"
    first = run("sync", "pagerduty", *AT, "--apply", "--routing-keys-out", str(target), root=REPO_ROOT)
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    content = json.loads(target.read_text())
    keys = {s["name"]: s["integrations"][0]["key"] for s in pd_fake.services.values()}
    assert content["version"] == 1
    assert set(content["pipelines"]) == set(EXAMPLE.pipelines)
    assert set(content["teams"]) == set(EXAMPLE.teams)
    assert (
        content["pipelines"]["aggregate_profit_investors"] == keys["Aggregate Profit for Investors (aggregate_profit_investors)"]
    )
    assert content["teams"]["data-eng"] == keys["Data Engineering on-call (data-eng)"]
    assert "wrote" in first.stderr and content["teams"]["data-eng"] not in first.stdout + first.stderr
    # without --apply, from what is already there
    target.unlink()
    plan_only = run("sync", "pagerduty", *AT, "--routing-keys-out", str(target), root=REPO_ROOT)
    assert plan_only.exit_code == 0
    assert json.loads(target.read_text()) == content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_routing_keys_to_a_folder_that_does_not_exist(
    pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    result = run("sync", "pagerduty", *AT, "--routing-keys-out", str(tmp_path / "nowhere" / "keys.json"), root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr.endswith("keys.json: No such file or directory\n")


def test_routing_keys_before_anything_exists_says_what_is_missing(
    pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    target = tmp_path / "keys.json"
    result = run("sync", "pagerduty", *AT, "--routing-keys-out", str(target), root=REPO_ROOT)
    assert json.loads(target.read_text()) == {"version": 1, "pipelines": {}, "teams": {}}
    assert "warning: team data-eng: no routing key yet" in result.stderr


def test_service_errors_are_one_line_and_redacted(pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, pd=pd_fake)
    body = json.dumps({"error": {"message": f"token {PD_TOKEN} is over quota", "code": 2020}})
    pd_fake.inject(Fault(400, lambda r: r.path == "/users", body=body))
    result = run("sync", "pagerduty", *AT, root=REPO_ROOT)
    assert result.exit_code == 1
    assert result.stderr == "opsctl: PagerDuty answered 400 to GET /users: token [redacted] is over quota\n"
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-secret-wrong")
    wrong = run("sync", "pagerduty", *AT, root=REPO_ROOT)
    assert wrong.exit_code == 1
    assert wrong.stderr == "opsctl: PagerDuty refused the token (GET /users: 401): check PAGERDUTY_TOKEN\n"
    assert [why for _, why in pd_fake.rejected] == ["401 Unauthorized"]
    pd_fake.rejected.clear()
    no_tokens(result, wrong)


def test_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAGERDUTY_TOKEN", raising=False)
    missing = run("sync", "pagerduty", "--apply", root=REPO_ROOT)
    assert (missing.exit_code, missing.stderr) == (
        2,
        "opsctl: PAGERDUTY_TOKEN is not set: --apply needs it (without it, the command prints an offline preview)\n",
    )
    monkeypatch.setenv("PAGERDUTY_TOKEN", PD_TOKEN)
    both = run("sync", "pagerduty", "--check", "--apply", root=REPO_ROOT)
    assert (both.exit_code, both.stderr) == (2, "opsctl: give --check or --apply, not both\n")
    monkeypatch.setenv("OPSCTL_PAGERDUTY_API_URL", "http://pagerduty.example.com")
    clear = run("sync", "pagerduty", root=REPO_ROOT)
    assert clear.exit_code == 2 and "only for loopback" in clear.stderr


def test_without_tokens_the_commands_preview_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """What opsctl would make, computed from the repository alone: no network, exit 0."""
    for name in ("PAGERDUTY_TOKEN", "SLACK_BOT_TOKEN", "OPSCTL_PAGERDUTY_API_URL", "OPSCTL_SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSCTL_PAGERDUTY_API_URL", "https://127.0.0.1:9")  # nothing listens: any read would fail
    monkeypatch.setenv("OPSCTL_SLACK_API_URL", "https://127.0.0.1:9/api/")
    pd = run("sync", "pagerduty", *AT, root=REPO_ROOT)
    assert pd.exit_code == 0, pd.output
    assert pd.stdout.splitlines()[0] == (
        "PagerDuty plan as of 2026-11-23 00:00 UTC; offline preview (PAGERDUTY_TOKEN is not set: nothing read, "
        "everything opsctl would make); overrides through 2027-02-15 00:00 UTC"
    )
    assert pd.stdout.splitlines()[-1] == "Plan: 117 to create, 0 to update, 0 to delete, 0 in sync."
    assert "Run `opsctl sync pagerduty --apply`" not in pd.stdout
    as_json = json.loads(run("sync", "pagerduty", *AT, "--format", "json", root=REPO_ROOT).stdout)
    assert as_json["offline"] is True and as_json["summary"]["create"] == 117
    sl = run("sync", "slack", *AT, root=REPO_ROOT)
    assert sl.exit_code == 0 and "offline preview (SLACK_BOT_TOKEN is not set" in sl.stdout.splitlines()[0]
    assert "+ create user group '@data-eng-oncall'" in sl.stdout
    handoff = run("notify", "handoff", "--dry-run", *AT, root=REPO_ROOT)
    assert handoff.exit_code == 0, handoff.output
    assert "data-eng-weekly shift 45 → #data-eng: would post (offline preview" in handoff.stdout
    assert "*On-call handoff: Data Engineering weekly on-call*" in handoff.stdout
    posting = run("notify", "handoff", *AT, root=REPO_ROOT)
    assert posting.exit_code == 2 and "SLACK_BOT_TOKEN is not set" in posting.stderr
    keys = run("sync", "pagerduty", *AT, "--routing-keys-out", "keys.json", root=REPO_ROOT)
    assert keys.exit_code == 2 and "--routing-keys-out needs it" in keys.stderr


def test_names_from_the_settings_in_ownership_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The naming settings as a team writes them, read by the offline previews of both syncs."""
    for name in ("PAGERDUTY_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = (
        "settings:\n"
        "  pagerduty:\n"
        '    name_prefix: "Data · "\n'
        '    service_name: "{pipeline} ({tier})"\n'
        '    schedule_name: "{rotation} {role}"\n'
        "  slack:\n"
        '    usergroup_handle: "{team}.oncall"\n'
        '    usergroup_name: "On call: {team_name}"\n'
    )
    root = write_example(tmp_path / "repo", {"ownership.yaml": ("settings:\n", settings)})
    pd = run("sync", "pagerduty", *AT, root=root)
    assert pd.exit_code == 0, pd.output
    assert "+ create service 'Data · aggregate_profit_investors (investor-facing)'" in pd.stdout
    assert "+ create schedule 'Data · data-eng-weekly primary'" in pd.stdout
    assert "+ create escalation policy 'Data · Data Engineering on-call (data-eng)'" in pd.stdout
    sl = run("sync", "slack", *AT, root=root)
    assert "+ create user group '@data-eng.oncall'" in sl.stdout and "name: On call: Data Engineering" in sl.stdout


def test_slack_sync_and_handoff(slack_fake: SlackFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, sl=slack_fake)
    slack_fake.clock.elapsed = 12 * 3600  # type: ignore[union-attr]
    later = ["--at", (NOW + timedelta(hours=12)).isoformat()]
    plan = run("sync", "slack", *later, root=REPO_ROOT)
    assert plan.exit_code == 0
    golden("slack-plan.txt", plan.stdout)
    applied = run("sync", "slack", *later, "--apply", root=REPO_ROOT)
    assert applied.exit_code == 0 and applied.stderr == "opsctl sync slack: applied, 15 write(s)\n"
    check = run("sync", "slack", *later, "--check", root=REPO_ROOT)
    assert check.exit_code == 0
    before = slack_writes(slack_fake)
    first = run("notify", "handoff", *later, root=REPO_ROOT)
    second = run("notify", "handoff", *later, root=REPO_ROOT)
    assert first.stdout.splitlines()[1] == "data-eng-weekly shift 46 → #data-eng: posted"
    assert second.stdout.splitlines()[1] == "data-eng-weekly shift 46 → #data-eng: already posted"
    assert slack_writes(slack_fake) - before == 5
    no_tokens(plan, applied, check, first, second)


def test_doctor(pd_fake: PagerDutyFake, slack_fake: SlackFake, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, pd=pd_fake, sl=slack_fake)
    good = run("doctor", root=REPO_ROOT)
    assert good.exit_code == 0, good.output
    assert good.stdout.splitlines()[-1] == "opsctl doctor: all good"
    del pd_fake.users[pd_fake.user_by_email(EXAMPLE.people["bi2"].email)["id"]]  # type: ignore[index]
    del slack_fake.users[EXAMPLE.people["ml1"].email.lower()]
    slack_fake.tokens[SLACK_TOKEN] = frozenset({"users:read.email", "users:read", "chat:write", "channels:read"})
    bad = run("doctor", root=REPO_ROOT)
    assert bad.exit_code == 1
    golden("doctor.txt", bad.stdout.replace(pd_fake.url, "http://127.0.0.1:PORT"))
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    unset = run("doctor", root=REPO_ROOT)
    assert "FAIL  SLACK_BOT_TOKEN is not set" in unset.stdout
    no_tokens(good, bad, unset)


def test_the_router_pages_through_the_keys_sync_wrote(
    pd_fake: PagerDutyFake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The contract between `sync pagerduty --routing-keys-out` and `opsctl serve`: an alert
    reaches the integration of its pipeline's service, an unmatched one its default team's."""
    from tests.router_support import running_router, wait_until

    cli_env(monkeypatch, pd=pd_fake)
    target = tmp_path / "keys.json"
    assert run("sync", "pagerduty", *AT, "--apply", "--routing-keys-out", str(target), root=REPO_ROOT).exit_code == 0
    integration = {s["name"]: s["integrations"][0]["key"] for s in pd_fake.services.values()}
    with running_router(tmp_path, EXAMPLE, clock=lambda: NOW, keys=json.loads(target.read_text())) as router:
        dag = {"dag_id": "aggregate_profit_investors", "task_id": "load", "run_id": "r1", "try_number": 1}
        assert router.post("airflow", dag).status == 202
        assert router.post("generic", {"summary": "Disk full on a host nobody owns"}).status == 202
        wait_until(router.settled)
        # two routing keys, two streams: which page PagerDuty takes first is not fixed
        assert sorted(i.routing_key for i in router.pd.incidents) == sorted(
            [
                integration["Aggregate Profit for Investors (aggregate_profit_investors)"],
                integration[f"{EXAMPLE.teams[EXAMPLE.settings.default_team].name} on-call ({EXAMPLE.settings.default_team})"],
            ]
        )
        assert router.deliveries("failed") == []
