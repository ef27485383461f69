"""Routing golden cases, one or more per source: a payload, an instant, the exact dry run.

Each ``tests/cases/router/*.case`` holds the ``opsctl route`` command line, the payload as
the source sends it, and the exact output (``OPSCTL_UPDATE_GOLDEN=1`` rewrites it, to be
reviewed). The same payloads then go through a live server whose clock stands at the
case's instant: the decision it stores must be the one the dry run printed.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from opsctl.repo.loader import load_working_tree
from tests.router_support import Router, running_router
from tests.support import CASES, REPO_ROOT, run

CASE_FILES = sorted((CASES / "router").glob("*.case"))


@dataclass
class RouteCase:
    path: Path
    args: list[str]
    payload: str
    stdout: str

    @classmethod
    def parse(cls, path: Path) -> RouteCase:
        text = path.read_text("utf-8")
        head, _, rest = text.partition("=== payload\n")
        payload, _, stdout = rest.partition("=== stdout\n")
        args = next(shlex.split(line[5:]) for line in head.splitlines() if line.startswith("args:"))
        return cls(path, args, payload.strip(), stdout)

    @property
    def source(self) -> str:
        return self.args[self.args.index("--source") + 1]

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.args[self.args.index("--at") + 1])

    def update(self, stdout: str) -> None:
        text = self.path.read_text("utf-8").split("=== stdout\n", 1)[0]
        self.path.write_text(f"{text}=== stdout\n{stdout}", encoding="utf-8")


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_route_case(path: Path) -> None:
    case = RouteCase.parse(path)
    result = run(*case.args, "-", root=REPO_ROOT, input=case.payload)
    if os.environ.get("OPSCTL_UPDATE_GOLDEN"):
        case.update(result.stdout)
        pytest.skip("golden output rewritten")
    assert result.exit_code == 0, result.output
    assert result.stdout == case.stdout


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Router, list[datetime]]]:
    org = load_working_tree(REPO_ROOT).require_ok()
    now = [datetime.fromisoformat("2026-12-02T10:00+01:00")]
    with running_router(tmp_path_factory.mktemp("golden"), org, clock=lambda: now[0], worker=False) as router:
        yield router, now


DECISION_KEYS = ("pipeline", "team", "match", "page_now", "urgency", "reason", "chain", "dedup_key", "routing_target")


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_server_stores_the_decision_of_the_dry_run(path: Path, live: tuple[Router, list[datetime]]) -> None:
    router, now = live
    case = RouteCase.parse(path)
    now[0] = case.at
    dry = run(*case.args, "-", "--format", "json", root=REPO_ROOT, input=case.payload)
    expected = json.loads(dry.stdout)
    answer = router.post(case.source, case.payload.encode())
    if isinstance(expected, dict):  # nothing to route
        assert answer.status == 200
        assert answer.json() == {"status": "ignored", "reason": expected["ignored"]}
        return
    assert answer.status == 202, answer.text
    rows = answer.json()["alerts"]
    assert [row["pipeline"] for row in rows] == [e["pipeline"] for e in expected]
    conn = router.db()
    try:
        for row, want in zip(rows, expected, strict=True):
            stored = json.loads(conn.execute("SELECT decision FROM alerts WHERE id = ?", (row["id"],)).fetchone()[0])
            assert {k: stored[k] for k in DECISION_KEYS} == {k: want[k] for k in DECISION_KEYS}
    finally:
        conn.close()
