"""Sync converges on a larger org, not only on the example: the synthetic org of
``bench/generate_org.py`` at a reduced scale, synced to the PagerDuty and Slack fakes at
three instants in turn (inside a shift, across a handoff, with an override straddling the
override horizon). After each apply the plan is "nothing to do", ``--check`` exits 0 and
a second ``--apply`` makes no writes.

The account is the same from one instant to the next, as a cron job leaves it: each apply
starts from what the previous one made, with overrides then in progress and the horizon
moved on. The generator writes no overrides, so the test adds its own (one in progress at
the first instant, one across the handoff, one across the horizon of the third).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.repo.loader import load_working_tree
from opsctl.sync import pagerduty, slack
from opsctl.sync.marker import read_marker
from opsctl.sync.pagerduty_desired import desired_pagerduty
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.support import REPO_ROOT, run
from tests.sync.support import CALENDAR, PD_TOKEN, cli_env, pd_client, sl_client, slack_user_id, slack_writes

SCALE = {"people": 50, "teams": 10, "pipelines": 150, "time_off": 200}
"""A quarter of the benchmark's org in people, a seventh in pipelines: 10 rotations of 5 people
(2 of daily shifts), one in each of the generator's 10 time zones, time off spread over 2026
and 2027."""
INSIDE_A_SHIFT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
"""A Wednesday noon: inside every weekly shift, and inside the daily shifts (handed off at 09:00 local) of most zones."""
ACROSS_A_HANDOFF = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
"""The Monday handoff hour: Berlin, Madrid, Istanbul, Jerusalem, Kolkata and Tokyo have
handed off (09:00 local), the Americas and UTC not yet; the overrides made at the first
instant for the shifts now begun are in progress."""
PAST_THE_HORIZON = datetime(2026, 12, 16, 15, 45, tzinfo=UTC)
"""A Wednesday afternoon; an override runs across its horizon (12 weeks on)."""
INSTANTS = [
    ("inside a shift", INSIDE_A_SHIFT),
    ("across a handoff", ACROSS_A_HANDOFF),
    ("override past the horizon", PAST_THE_HORIZON),
]
HORIZON = timedelta(weeks=12)


def _generate(root: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate_org", REPO_ROOT / "bench" / "generate_org.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(root, 7, **SCALE)
    # team-01 is p005..p009 (Chicago), team-02 p010..p014 (Los Angeles), team-06 p030..p034 (Madrid)
    overrides = [
        ("team-01-oncall", "p007", INSIDE_A_SHIFT - timedelta(days=1, hours=3), INSIDE_A_SHIFT + timedelta(days=2), "primary"),
        ("team-06-oncall", "p033", ACROSS_A_HANDOFF - timedelta(hours=6), ACROSS_A_HANDOFF + timedelta(hours=30), "secondary"),
        (
            "team-02-oncall",
            "p012",
            PAST_THE_HORIZON + HORIZON - timedelta(days=2),
            PAST_THE_HORIZON + HORIZON + timedelta(days=3),
            "primary",
        ),
    ]
    rows = [
        {"rotation": r, "person": p, "start": s.isoformat(), "end": e.isoformat(), "role": role, "reason": "Covering"}
        for r, p, s, e, role in overrides
    ]
    (root / "rotations" / "overrides.yaml").write_text(yaml.safe_dump({"overrides": rows}, sort_keys=False), "utf-8")


@dataclass(frozen=True)
class Large:
    root: Path
    org: Org
    engine: Engine


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Large:
    root = tmp_path_factory.mktemp("large-org")
    _generate(root)
    org = load_working_tree(root).require_ok()
    assert (len(org.people), len(org.rotations), len(org.pipelines), len(org.overrides)) == (50, 10, 150, 3)
    return Large(root, org, Engine(org, CALENDAR))


@pytest.fixture
def accounts(large: Large, pd_fake: PagerDutyFake, slack_fake: SlackFake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fakes with the large org's people and team channels, and the CLI pointed at them."""
    pd_fake.reset({p.email: p.name for p in large.org.people.values()}, tokens={PD_TOKEN})
    with slack_fake.lock:
        slack_fake.users = {p.email.lower(): slack_user_id(p.id) for p in large.org.people.values()}
        slack_fake.channels = {}
    for team in large.org.teams.values():
        assert team.slack_channel
        slack_fake.add_channel(team.slack_channel, topic="Ask here")
    cli_env(monkeypatch, pd=pd_fake, sl=slack_fake)


def _at(fake: PagerDutyFake, when: datetime) -> None:
    """Move the simulated clock (the fakes' and the pacers') to ``when``."""
    assert fake.clock is not None
    fake.clock.elapsed = max(fake.clock.elapsed, (when - fake.clock.start).total_seconds())


def _converges(target: str, large: Large, now: datetime, writes: Callable[[], int]) -> None:
    """After an apply at ``now``: the plan is "nothing to do" and ``--check`` exits 0; a second
    ``--apply`` makes no write (``writes`` counts the fake's since its counts were reset)."""
    at = ("--at", now.isoformat())
    check = run("sync", target, *at, "--check", "--format", "json", root=large.root)
    assert check.stdout.startswith("{"), check.output
    plan = json.loads(check.stdout)
    left = [c["key"] for c in plan["changes"]][:8], [n["message"] for n in plan["notices"] if n["level"] == "drift"][:3]
    assert (check.exit_code, plan["changes"], plan["drift"]) == (0, [], False), left
    second = run("sync", target, *at, "--apply", root=large.root)
    assert (second.exit_code, second.stderr) == (0, f"opsctl sync {target}: applied, 0 write(s)\n"), second.output
    assert writes() == 0


def _apply_pagerduty(large: Large, fake: PagerDutyFake, now: datetime) -> int:
    desired = desired_pagerduty(large.org, large.engine, now)
    plan = pagerduty.diff(desired, pagerduty.fetch_actual(pd_client(fake), since=now, until=desired.until))
    result = pagerduty.apply(pd_client(fake), plan)
    assert result.complete, result.problem()
    fake.reset_counts()
    return result.writes


def _apply_slack(large: Large, fake: SlackFake, now: datetime) -> int:
    desired = slack.desired_slack(large.org, large.engine, now)
    plan = slack.diff(desired, slack.fetch_actual(sl_client(fake), desired))
    result = slack.apply(sl_client(fake), plan)
    assert result.complete, result.problem()
    fake.reset_counts()
    return result.writes


@pytest.mark.slow
def test_pagerduty_and_slack_converge_at_each_instant(
    large: Large, accounts: None, pd_fake: PagerDutyFake, slack_fake: SlackFake
) -> None:
    writes = []
    for name, now in INSTANTS:
        _at(pd_fake, now)
        pd_writes = _apply_pagerduty(large, pd_fake, now)
        _converges("pagerduty", large, now, pd_fake.writes)
        slack_writes_made = _apply_slack(large, slack_fake, now)
        _converges("slack", large, now, lambda: slack_writes(slack_fake))
        writes.append((name, pd_writes, slack_writes_made))
    # each later apply had something to do (the account moved on: shifts handed off, overrides
    # began and ended, the horizon moved), and each converged
    assert all(pd > 0 and sl > 0 for _, pd, sl in writes), writes
    [schedule] = [s for s in pd_fake.schedules.values() if _key(s) == "schedule:team-02-oncall:primary"]
    covering = [o for o in pd_fake.overrides.get(schedule["id"], {}).values() if o["user"] == _user(pd_fake, large, "p012")]
    # the override across the last horizon is held whole in PagerDuty, not cut at the horizon
    assert [o["end"] for o in covering] == [PAST_THE_HORIZON + HORIZON + timedelta(days=3)]


def _key(obj: dict[str, str]) -> str | None:
    marker = read_marker(obj["description"])
    return marker.key if marker else None


def _user(fake: PagerDutyFake, large: Large, person: str) -> str:
    found = fake.user_by_email(large.org.people[person].email)
    assert found is not None
    return str(found["id"])
