"""Every table: plain aligned columns when piped, a box on a terminal, as wide as $COLUMNS,
and cells broken at spaces, never inside a word."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsctl.answers.columns import Table, fit, layout, render_plain, wrap
from opsctl.answers.tables import render
from tests.router_support import running_router
from tests.support import REPO_ROOT, run

BOX = re.compile("[│┃┏┡└━─]")

TABLE_COMMANDS = [
    ["whoisoncall", "--at", "2026-12-02T12:00Z"],
    ["whoisoncall", "--pipeline", "aggregate_profit_investors", "--at", "2026-12-02T12:00Z"],
    ["whoisoncall", "--pipeline", "aggregate_profit_investors", "--at", "2026-12-02T12:00Z", "--format", "plain"],
    ["schedule", "--from", "2026-12-14T09:00+01:00", "--weeks", "3"],
    ["fairness", "--from", "2026-11-23T09:00+01:00", "--to", "2027-03-01T09:00+01:00"],
]


@pytest.mark.parametrize("args", TABLE_COMMANDS, ids=[" ".join(a[:2]) for a in TABLE_COMMANDS])
def test_piped_tables_are_plain_columns(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = run(*args, root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    assert not BOX.search(result.stdout), result.stdout
    headers = [line for line in result.stdout.splitlines() if line.split()[:1] in (["TEAM"], ["ROLE"], ["ROTATION"], ["PERSON"])]
    assert headers, result.stdout


@pytest.mark.parametrize("args", TABLE_COMMANDS, ids=[" ".join(a[:2]) for a in TABLE_COMMANDS])
@pytest.mark.parametrize("fmt", ["plain", "table"])
def test_tables_fit_columns(args: list[str], fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = [a for a in args if a not in ("--format", "plain")]
    result = run(*args, "--format", fmt, root=REPO_ROOT)
    assert result.exit_code == 0, result.output
    widths = [len(line) for line in result.stdout.splitlines()]
    assert max(widths) <= 80, result.stdout
    assert bool(BOX.search(result.stdout)) is (fmt == "table")
    # at 80 columns every word stays whole: no "Engineerin│g"
    words = {"whoisoncall": ["Raghunathan", "Yıldız"], "schedule": ["Raghunathan", "Hoffmann"], "fairness": ["Received"]}
    for word in words[args[0]]:
        assert word.casefold() in result.stdout.casefold(), (word, result.stdout)


def test_piped_without_columns_keeps_each_row_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = run("whoisoncall", "--at", "2026-12-02T12:00Z", root=REPO_ROOT).stdout.splitlines()
    assert len(lines) == 1 + 5  # the header and one line per rotation, however long
    assert max(len(line) for line in lines) > 120


def test_a_cell_breaks_at_spaces_not_inside_words() -> None:
    table = Table(("Team", "Rotation", "Notes"), [["Data Engineering", "Data Engineering weekly on-call", "x " * 40]])
    for boxed in (False, True):
        text = render([table], boxed=boxed, color=False, width=40)
        assert "Engineerin\n" not in text and "Engineerin " not in text and "Engineerin│" not in text
        assert "Engineering" in text
        assert max(len(line) for line in text.splitlines()) <= 40


def test_plain_table_aligns_and_right_justifies_numbers() -> None:
    table = Table(("Person", "Hours"), [["ada", "7"], ["bo", "168"]], right=[1])
    assert render_plain([table], None) == "PERSON  HOURS\nada         7\nbo        168\n"


def test_several_tables_are_titled_and_set_apart() -> None:
    first = Table(("A",), [["1"]], title="first")
    second = Table(("B",), [["2"]], title="second")
    assert render_plain([first], None) == "A\n1\n"
    assert render_plain([first, second], None) == "first\nA\n1\n\nsecond\nB\n2\n"


WIDE = Table(
    ("Name", "Pages", "Night", "Note"),
    [["Berit Berlin-Brandenburg", "12", "3", "a rather long note about the week"], ["Chidi", "1", "0", ""]],
    right=[1, 2],
    optional={2: 1},
)


def test_optional_columns_stay_while_the_table_fits_comfortably() -> None:
    assert render_plain([WIDE], None) == (
        "NAME                      PAGES  NIGHT  NOTE\n"
        "Berit Berlin-Brandenburg     12      3  a rather long note about the week\n"
        "Chidi                         1      0\n"
    )
    # every column can wrap down to 16 characters (or its longest word) and keep its place
    assert render_plain([WIDE], 60) == (
        "NAME                    PAGES  NIGHT  NOTE\n"
        "Berit                      12      3  a rather long note\n"
        "Berlin-Brandenburg                    about the week\n"
        "Chidi                       1      0\n"
    )


def test_optional_columns_leave_to_fit_and_the_table_says_so() -> None:
    assert render_plain([WIDE], 48) == (
        "NAME                 PAGES  NOTE\n"
        "Berit                   12  a rather long note\n"
        "Berlin-Brandenburg          about the week\n"
        "Chidi                    1\n"
        "(left out to fit 48 columns: Night)\n"
    )
    boxed = render([WIDE], boxed=True, color=False, width=48)
    assert "Night" not in boxed.replace("(left out to fit 48 columns: Night)", "")
    assert boxed.rstrip().endswith("(left out to fit 48 columns: Night)")
    assert max(len(line) for line in boxed.splitlines()) <= 48


def test_the_highest_rank_leaves_first_and_only_as_many_as_needed() -> None:
    table = Table(
        ("Who", "A-long-header", "B-long-header", "C-long-header", "D-long-header"),
        [["x", "1", "2", "3", "4"]],
        optional={1: 2, 2: 9, 3: 5},
    )
    assert fit(table, 48).left_out == ["B-long-header"]  # 3 + 3 × 13 + 3 gaps: fits without B
    fitted = fit(table, 47)
    assert (fitted.headers, fitted.left_out) == (["Who", "A-long-header", "D-long-header"], ["B-long-header", "C-long-header"])
    assert fit(table, 80) is table  # it fits: nothing leaves
    assert fit(table, None) is table
    narrow = fit(table, 10)  # the columns that are not optional stay, however narrow the width
    assert narrow.headers == ["Who", "D-long-header"]
    assert narrow.left_out == ["B-long-header", "C-long-header", "A-long-header"]
    text = render_plain([table], 10)
    assert max(len(line) for line in text.splitlines()) <= 10
    assert text.endswith("columns:\nB-long-\nheader,\nC-long-\nheader,\nA-long-\nheader)\n")


def test_fitting_keeps_alignment_and_the_rest_of_the_table() -> None:
    table = Table(("Name", "Drop me", "Count"), [["ab", "zzzzzzzzzzzzzzzzzzzzzzzz", "7"]], right=[2], optional={1: 1}, title="T")
    fitted = fit(table, 20)
    assert (fitted.headers, fitted.rows, fitted.right, fitted.title) == (["Name", "Count"], [["ab", "7"]], {1}, "T")


def test_a_box_loses_its_edges_before_columns_wrap_narrower_than_is_comfortable() -> None:
    table = Table(("Team", "Rotation", "Notes"), [["Data Engineering", "data-eng-weekly", "swapped with shift 48"]])
    full = render([table], boxed=True, color=False, width=62)  # every cell whole in the full box
    assert full.startswith("┏") and "Data Engineering │" in full
    # in the full box Notes would wrap at 15 characters ("swapped with"); without the edges, at 19
    tight = render([table], boxed=True, color=False, width=56)
    assert not tight.startswith("┏") and "Data Engineering │ data-eng-weekly │ swapped with shift" in tight


@given(
    st.lists(st.text(alphabet="abcdefgh- ", min_size=0, max_size=30), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=40),
)
def test_wrap_keeps_every_character_in_order_within_the_width(cells: list[str], width: int) -> None:
    text = " ".join(cells)
    lines = wrap(text, width)
    assert all(len(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@given(st.lists(st.text(alphabet="abcdefghij ", min_size=1, max_size=40), min_size=1, max_size=6), st.integers(10, 120))
def test_layout_keeps_words_whole_when_they_fit(cells: list[str], budget: int) -> None:
    table = Table([f"c{i}" for i in range(len(cells))], [cells])
    widths = layout(table, budget)
    longest = [max([len(w) for w in cell.split()] + [len(f"c{i}")]) for i, cell in enumerate(cells)]
    if sum(longest) <= budget:
        assert sum(widths) <= budget
        for cell, width in zip(cells, widths, strict=True):
            assert [word for line in wrap(cell, width) for word in line.split()] == cell.split()


def test_fairness_json_hours_are_rounded() -> None:
    result = run("fairness", "--team", "data-eng", "--from", "2026-11-23T09:17:31.123Z", "--format", "json", root=REPO_ROOT)
    loads = json.loads(result.stdout)["data-eng-weekly"]
    assert any(row["primary_hours"] % 1 for row in loads)  # a window that starts at 09:17:31 has no whole hours
    for row in loads:
        for key, value in row.items():
            if key.endswith("_hours"):
                assert round(value, 2) == value, (key, value)


def test_alerts_list_is_plain_when_piped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.repo.loader import load_working_tree

    org = load_working_tree(REPO_ROOT).require_ok()
    with running_router(tmp_path, org, clock=lambda: datetime.fromisoformat("2026-12-02T10:00+01:00")) as router:
        answer = router.post(
            "airflow", {"dag_id": "aggregate_growth_investors", "task_id": "load", "run_id": "r1", "try_number": 1}
        )
        assert answer.status == 202
        monkeypatch.setenv("COLUMNS", "80")
        listed = run("alerts", "--db", str(router.db_path), "list", root=REPO_ROOT)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "RECEIVED"]
    assert not BOX.search(listed.stdout)
    assert max(len(line) for line in lines) <= 80
