"""The command line on the example org and on broken input: exact output, exit codes."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import icalendar
import pytest

from tests.support import REPO_ROOT, copy_example, run, write_tree


def test_validate_example_org_is_clean() -> None:
    result = run("validate", "--at", "2026-11-23T00:00:00Z", root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "opsctl validate: no problems found\n"


def test_whoisoncall_json_explains_swap_secondary_and_override() -> None:
    result = run("whoisoncall", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", "--format", "json", root=REPO_ROOT)
    assert result.exit_code == 0
    [row] = json.loads(result.stdout)
    assert row["rotation"] == "data-eng-weekly"
    assert row["primary"] == {
        "id": "de4",
        "name": "Elif Yıldız",
        "email": "elif.yildiz@example.com",
        "available": True,
        "reduced": False,
    }
    assert row["secondary"]["id"] == "de3"
    assert (row["start"], row["end"]) == ("2026-12-17T18:00:00+01:00", "2026-12-18T09:00:00+01:00")
    assert row["shift"] == {"index": 49, "start": "2026-12-14T09:00:00+01:00", "end": "2026-12-21T09:00:00+01:00"}
    assert row["reduced"] is False
    assert row["brief"] == ["swap: de2 away (time-off), de1 covers", "secondary: de2 away", "override: de4"]
    assert row["reasons"][2].startswith(
        "Elif Yıldız (de4) is primary instead of Lena Hoffmann (de1) by override from 2026-12-17 18:00"
    )


def test_reduced_is_the_primarys_reduced_duty_and_each_person_has_their_own() -> None:
    # 2026-12-02: ie2, secondary of the infra on-call, is at a conference and nobody else could
    # take the whole shift; the primary ie1 is at work, so pages go to her first as usual
    result = run("whoisoncall", "--team", "infra-data-eng", "--at", "2026-12-02T12:00Z", "--format", "json", root=REPO_ROOT)
    [row] = json.loads(result.stdout)
    assert row["reduced"] is False
    assert (row["primary"]["available"], row["primary"]["reduced"]) == (True, False)
    assert (row["secondary"]["id"], row["secondary"]["available"], row["secondary"]["reduced"]) == ("ie2", False, True)
    # 2027-01-01: ie1's public holiday and no swap: reduced duty, the secondary is paged first
    result = run("whoisoncall", "--team", "infra-data-eng", "--at", "2027-01-01T12:00+01:00", "--format", "json", root=REPO_ROOT)
    [row] = json.loads(result.stdout)
    assert row["reduced"] is True
    assert (row["primary"]["available"], row["primary"]["reduced"]) == (False, True)
    assert row["secondary"]["available"] is True


def test_whoisoncall_table_lists_every_rotation() -> None:
    result = run("whoisoncall", "--at", "2026-11-23T12:00:00Z", "--format", "table", root=REPO_ROOT)
    assert result.exit_code == 0
    assert result.stdout.startswith("On call")
    assert "┃ Team" in result.stdout  # --format table: boxed even when piped
    for team in ("data-eng", "platform", "mlops", "bi-services", "infra-data-eng"):
        assert f"│ {team} " in result.stdout


def test_whoisoncall_piped_is_plain_columns() -> None:
    result = run("whoisoncall", "--at", "2026-11-23T12:00:00Z", root=REPO_ROOT)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TEAM", "ROTATION", "PRIMARY", "SECONDARY", "UNTIL", "NOTES"]
    assert sorted(line.split()[1] for line in lines[1:]) == [
        "bi-services-oncall",
        "data-eng-weekly",
        "infra-data-eng-oncall",
        "mlops-oncall",
        "platform-oncall",
    ]


def test_whoisoncall_pipeline_shows_owner_availability() -> None:
    result = run(
        "whoisoncall",
        "--pipeline",
        "aggregate_profit_investors",
        "--at",
        "2026-12-24T12:00+01:00",
        "--format",
        "json",
        root=REPO_ROOT,
    )
    [row] = json.loads(result.stdout)
    assert row["owners"]["primary"]["id"] == "de2"
    assert row["owners"]["primary"]["available"] is False
    assert row["owners"]["primary"]["unavailable_because"].startswith("time off 2026-12-21 to 2027-01-01")
    assert row["owners"]["secondary"] | {"available": True, "in_working_hours": True} == row["owners"]["secondary"]
    assert row["oncall"][0]["team"] == "data-eng"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["whoisoncall", "--team", "data-engg"], "opsctl: unknown team 'data-engg' (did you mean 'data-eng'?)\n"),
        (["whoisoncall", "--team", "de"], "opsctl: unknown team 'de' (did you mean 'data-eng'?)\n"),
        (["explain", "--team", "de"], "opsctl: unknown team 'de' (did you mean 'data-eng'?)\n"),
        (
            ["whoisoncall", "--pipeline", "aggregate_profit"],
            "opsctl: unknown pipeline 'aggregate_profit' (did you mean 'aggregate_profit_investors'?)\n",
        ),
        (
            ["whoisoncall", "--at", "yesterday-ish"],
            "opsctl: --at: cannot read 'yesterday-ish' as a time; "
            "use now, 2026-12-24, 2026-12-24T09:00, 2026-12-24T09:00+01:00 or +3d\n",
        ),
        (["schedule", "--person", "de9"], "opsctl: unknown person 'de9' (did you mean 'de4'?)\n"),
        (["schedule", "--from", "2026-12-01", "--to", "2026-11-01"], "opsctl: --to must be after --from\n"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run(*args, root=REPO_ROOT)
    assert result.exit_code == 2
    assert result.stderr == message
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("bogus: 1\n", "ownership.yaml:2:1: error: unknown key 'bogus' in ownership"),
        ("", "ownership.yaml:1:1: error: ownership.yaml is empty"),
        (b"\x00\xff\xfe", "ownership.yaml:1:2: error: not UTF-8 text"),
        (None, "ownership.yaml: error: no ownership.yaml in {root}"),
    ],
    ids=["unknown top-level key", "empty", "binary", "missing"],
)
def test_a_broken_ownership_file_is_reported_without_echoes(content: str | bytes | None, error: str, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    target = root / "ownership.yaml"
    if content is None:
        target.unlink()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(target.read_text("utf-8").replace("\n", "\n" + content, 1) if content else "", encoding="utf-8")
    result = run("validate", "--at", "2026-11-23T00:00:00Z", root=root)
    assert result.exit_code == 1
    headlines = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert headlines == [error.format(root=root.resolve())]  # and no "notes of unknown pipeline" for every note
    assert result.stderr == "opsctl validate: 1 error\n"


def test_missing_ownership_names_the_folder_searched(tmp_path: Path) -> None:
    result = run("whoisoncall", root=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"ownership.yaml: error: no ownership.yaml in {tmp_path.resolve()}"


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    result = run("whoisoncall", root=tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr


def test_unknown_command_suggests() -> None:
    result = run("whoisonc")
    assert result.exit_code == 2
    assert "no such command 'whoisonc' (did you mean 'whoisoncall'?)" in result.stderr


def test_commands_refuse_a_broken_repository(tmp_path: Path) -> None:
    from tests.support import CASES, read_tree

    files = read_tree(CASES / "validate" / "_base")
    files["rotations/core.yaml"] = files["rotations/core.yaml"].replace("[ana, ben, cho, dev]", "[ana, bem, cho, dev]")
    root = write_tree(tmp_path / "repo", files)
    result = run("whoisoncall", root=root)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "rotations/core.yaml:3:16: error: unknown person 'bem' (did you mean 'ben'?)"
    assert result.stderr.splitlines()[-1] == "opsctl: the ops repository has 1 error; run `opsctl validate` to see all"


def test_schedule_json_tiles_and_ics_reparses() -> None:
    args = ["schedule", "--team", "data-eng", "--from", "2026-12-14T09:00+01:00", "--weeks", "4"]
    rows = json.loads(run(*args, "--format", "json", root=REPO_ROOT).stdout)
    assert rows[0]["start"] == "2026-12-14T09:00:00+01:00"
    for before, after in pairwise(rows):
        assert before["end"] == after["start"]
    assert rows[-1]["end"] == "2027-01-11T09:00:00+01:00"
    ics = run(*args, "--format", "ics", root=REPO_ROOT).stdout_bytes
    calendar = icalendar.Calendar.from_ical(ics)
    events = list(calendar.walk("VEVENT"))
    pairs = [(r["shift"]["index"], r["primary"]["id"], r["secondary"]["id"]) for r in rows]
    assert len(events) == sum(1 for i, pair in enumerate(pairs) if i == 0 or pairs[i - 1] != pair)  # one per shift and pair
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {"Europe/Berlin"}
    first = events[0]
    assert first["DTSTART"].dt.isoformat() == rows[0]["start"]
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert len({str(e["UID"]) for e in events}) == len(events)
    # The same shifts asked through a different window keep their UIDs.
    later = icalendar.Calendar.from_ical(
        run(
            "schedule",
            "--team",
            "data-eng",
            "--from",
            "2026-12-20T12:00+01:00",
            "--weeks",
            "1",
            "--format",
            "ics",
            root=REPO_ROOT,
        ).stdout_bytes
    )
    assert {str(e["UID"]) for e in later.walk("VEVENT")} <= {str(e["UID"]) for e in events}


def test_schedule_for_a_person_only_has_their_duty() -> None:
    rows = json.loads(
        run("schedule", "--person", "de3", "--from", "2026-12-01", "--weeks", "6", "--format", "json", root=REPO_ROOT).stdout
    )
    assert rows
    assert all("de3" in (r["primary"]["id"], (r["secondary"] or {}).get("id")) for r in rows)
    ics = icalendar.Calendar.from_ical(
        run("schedule", "--person", "de3", "--from", "2026-12-01", "--weeks", "6", "--format", "ics", root=REPO_ROOT).stdout_bytes
    )
    summaries = [str(e["SUMMARY"]) for e in ics.walk("VEVENT")]
    assert summaries and all(s.startswith("On call (primary)") or s.startswith("On call (secondary)") for s in summaries)


def test_explain_prints_numbered_steps() -> None:
    result = run("explain", "--team", "data-eng", "--at", "2026-12-17T20:00+01:00", root=REPO_ROOT)
    assert result.exit_code == 0
    assert result.stdout == (
        "Data Engineering weekly on-call (data-eng-weekly) at 2026-12-17 20:00 CET\n"
        "  1. [base] shift 49: Daniel Okafor (de2) is primary in rotation order\n"
        "  2. [swap] Daniel Okafor is unavailable (time off 2026-12-21 to 2027-01-01\n"
        "            (Winter holiday, visiting family in Lagos)): swapped with shift 48\n"
        "            (starting 2026-12-07 09:00), so Lena Hoffmann (de1) takes this shift\n"
        "  3. [secondary] Priya Raghunathan (de3) is secondary: Daniel Okafor is\n"
        "                 unavailable during this shift\n"
        "  4. [override] Elif Yıldız (de4) is primary instead of Lena Hoffmann by\n"
        "                override from 2026-12-17 18:00 to 2026-12-18 09:00 (de1 is at\n"
        "                her daughter's school Christmas concert and family dinner; de4\n"
        "                covers the evening of de1's primary week)\n"
        "  => primary Elif Yıldız, secondary Priya Raghunathan\n"
        "     from 2026-12-17 18:00 until 2026-12-18 09:00 CET\n"
    )


@pytest.mark.parametrize("columns", ["80", "60"])
def test_explain_wraps_at_word_boundaries_to_columns(columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    for team, at, phrase in (
        ("data-eng", "2026-12-17T20:00+01:00", "(Winter holiday, visiting family in Lagos)): swapped with shift 48"),
        ("infra-data-eng", "2027-01-01T12:00+01:00", "so they keep the shift with reduced duty: the secondary"),
    ):
        text = run("explain", "--team", team, "--at", at, root=REPO_ROOT).stdout
        assert max(len(line) for line in text.splitlines()) <= int(columns)
        assert phrase in " ".join(text.split())  # nothing cut inside a word: the words read back in order


def test_fairness_json_counts_hours_and_swaps() -> None:
    result = run(
        "fairness",
        "--team",
        "data-eng",
        "--from",
        "2026-11-23T09:00+01:00",
        "--to",
        "2027-03-01T09:00+01:00",
        "--format",
        "json",
        root=REPO_ROOT,
    )
    loads = json.loads(result.stdout)["data-eng-weekly"]
    by_person = {row["person"]: row for row in loads}
    assert set(by_person) == {"de1", "de2", "de3", "de4"}
    assert sum(row["primary_shifts"] for row in loads) == 14
    assert sum(row["primary_hours"] for row in loads) == pytest.approx(14 * 7 * 24)
    assert sum(row["swaps_given"] for row in loads) == sum(row["swaps_received"] for row in loads) > 0
    assert by_person["de2"]["swaps_received"] >= 1


def test_init_scaffolds_a_valid_repository(tmp_path: Path) -> None:
    target = tmp_path / "ops"
    result = run("init", str(target), "--team", "analytics", "--team-name", "Analytics", "--timezone", "America/Chicago")
    assert result.exit_code == 0, result.output
    assert (target / "rotations" / "analytics-oncall.yaml").exists()
    assert (target / ".gitignore").read_text().splitlines()[1:] == ["/site/", "opsctl-router.sqlite3*"]
    checked = run("validate", root=target)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == ""
    again = run("init", str(target))
    assert again.exit_code == 2
    assert "already has an ownership.yaml" in again.stderr
    (target / ".gitignore").write_text("mine\n")
    assert run("init", str(target), "--force").exit_code == 0
    assert (target / ".gitignore").read_text() == "mine\n"  # a repository's own is kept


def test_validate_names_the_zone_of_a_city(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "ops")
    ownership = root / "ownership.yaml"
    ownership.write_text(ownership.read_text("utf-8").replace("Asia/Kolkata", "Asia/Bangalore", 1), encoding="utf-8")
    result = run("validate", "--at", "2026-11-23T00:00:00Z", root=root)
    assert result.exit_code == 1
    [headline] = [line for line in result.stdout.splitlines() if "error" in line]
    assert headline.endswith(
        "error: timezone: unknown time zone 'Asia/Bangalore' (did you mean 'Asia/Kolkata', the zone of Bengaluru, India?)"
    )


def test_init_names_everything_after_the_team_given(tmp_path: Path) -> None:
    target = tmp_path / "ops"
    assert run("init", str(target), "--team", "analytics").exit_code == 0
    texts = "".join(p.read_text("utf-8") for p in target.rglob("*") if p.is_file() and "schemas" not in p.parts)
    assert "Data Engineering" not in texts and "data-eng" not in texts
    ownership = (target / "ownership.yaml").read_text("utf-8")
    assert 'org_name: "Analytics"' in ownership and 'name: "Analytics"' in ownership
    assert 'name: "Analytics on-call"' in (target / "rotations" / "analytics-oncall.yaml").read_text("utf-8")
    assert 'name: "Analytics pipelines"' in (target / "service_catalog" / "analytics.yaml").read_text("utf-8")
    assert run("validate", root=target).exit_code == 0


def test_init_rejects_bad_options(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "x"), "--timezone", "Europe/Berln")
    assert result.exit_code == 2
    assert result.stderr == "opsctl: --timezone: unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)\n"


def test_every_command_has_help_and_is_in_the_readme() -> None:
    from opsctl.cli.main import COMMANDS

    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.exit_code == 0
        assert result.stdout.startswith(f"Usage: cli {name}") or result.stdout.startswith(f"Usage: opsctl {name}")
        assert f"opsctl {name}" in readme, f"README does not mention `opsctl {name}`"


def test_the_docs_stand_alone() -> None:
    """Users have the repository, not the product's spec: nothing may send them to it."""
    texts = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    texts += [*sorted((REPO_ROOT / "rotations").glob("*.yaml")), REPO_ROOT / "ownership.yaml"]
    for path in texts:
        text = path.read_text("utf-8")
        assert "SPEC" not in text and "of the spec" not in text, path
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    for page in ("docs/schedule.md", "docs/escalation.md"):
        assert f"]({page}" in readme and (REPO_ROOT / page).is_file()


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    install_and_run, test = readme.split("```sh\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert "opsctl validate" in install_and_run and "pytest" in test
    assert test in (REPO_ROOT / ".ci" / "run").read_text("utf-8").splitlines()


def test_an_unexpected_exception_exits_3_with_one_line_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import opsctl.answers.oncall

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(opsctl.answers.oncall, "answers", broken)
    monkeypatch.delenv("OPSCTL_DEBUG", raising=False)
    result = run("whoisoncall", "--at", "2026-12-24T10:00", "--format", "json", root=REPO_ROOT)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        "opsctl: internal error: RuntimeError: the engine broke (run with OPSCTL_DEBUG=1 for the traceback)\n"
    )
    monkeypatch.setenv("OPSCTL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="the engine broke"):
        run("whoisoncall", "--at", "2026-12-24T10:00", "--format", "json", root=REPO_ROOT)


def test_exit_codes_are_decided_in_one_place() -> None:
    from opsctl.errors import (
        GitError,
        ProblemsFound,
        RepoError,
        ServiceError,
        TemplateError,
        UsageError,
        exit_code,
    )
    from opsctl.vendors.errors import VendorError

    assert exit_code(UsageError("x")) == 2
    for problem in (RepoError([], None), GitError("x"), TemplateError("x", None), ServiceError("x"), ProblemsFound("")):
        assert exit_code(problem) == 1
    assert exit_code(VendorError("x", service="Slack")) == 1
    assert exit_code(BrokenPipeError()) == 1
    assert exit_code(KeyError("x")) == 3
