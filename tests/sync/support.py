"""Shared by the sync tests: the example org at a fixed instant, strict fakes, real clients.

The fakes fail the test at teardown when they refused any request (``rejected``): a
request the vendor would refuse is a bug even when opsctl copes with the answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org
from opsctl.repo.loader import MemoryFiles, load
from opsctl.sync import pagerduty, slack
from opsctl.sync.pagerduty_desired import PagerDutyDesired, desired_pagerduty
from opsctl.sync.plan import Plan
from opsctl.system.holidays import LibraryHolidays
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.pagerduty_api import rest_client, rest_pacer
from opsctl.vendors.slack_api import slack_client, slack_pacer
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.fakes.slack import SlackFake
from tests.support import REPO_ROOT, read_tree

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
PD_TOKEN = "pd-secret-0123456789abcdef"
SLACK_TOKEN = "xoxb-secret-0123456789abcdef"
CALENDAR = LibraryHolidays()


def example_files() -> dict[str, str]:
    """The example org's ops files, by path."""
    files = {"ownership.yaml": (REPO_ROOT / "ownership.yaml").read_text("utf-8")}
    for folder in ("rotations", "service_catalog", "runbooks"):
        files |= {f"{folder}/{path}": text for path, text in read_tree(REPO_ROOT / folder).items()}
    return files


def org_from(files: dict[str, str]) -> Org:
    return load(MemoryFiles(dict(files))).require_ok()


EXAMPLE = org_from(example_files())


def engine(org: Org) -> Engine:
    return Engine(org, CALENDAR)


SLACK_WRITES = frozenset(
    {"usergroups.create", "usergroups.update", "usergroups.users.update", "conversations.setTopic", "chat.postMessage"}
)
"""slack_sdk sends reads as POST too, so a Slack write is told by its method, not its HTTP verb."""


def slack_writes(fake: SlackFake) -> int:
    return sum(r.path.removeprefix("/api/") in SLACK_WRITES for r in fake.requests)


def slack_user_id(person_id: str) -> str:
    return f"U{person_id.upper():0>9}"


_SERVERS: dict[str, Any] = {}


def shared_server(name: str, make: Any) -> Any:
    """One fake server per kind for the whole run (stopping one costs half a second); each test resets it."""
    if name not in _SERVERS:
        import atexit

        server = make()
        server.start()
        atexit.register(server.stop)
        _SERVERS[name] = server
    return _SERVERS[name]


_APPLIED: dict[str, Any] = {}


def applied_example(fake: PagerDutyFake) -> None:
    """The fake as the first apply of the example org at NOW leaves it (made once, then restored)."""
    if "pagerduty" in _APPLIED:
        fake.restore(_APPLIED["pagerduty"])
    else:
        pd_sync(fake)
        _APPLIED["pagerduty"] = fake.snapshot()
    fake.reset_counts()


def pd_config(fake: PagerDutyFake, token: str = PD_TOKEN) -> VendorConfig:
    return VendorConfig(pagerduty_token=token, pagerduty_api_url=fake.url)


def pd_client(fake: PagerDutyFake, *, patience: float = 600.0) -> Any:
    """The real client, paced on the fake's (simulated) clock."""
    return rest_client(pd_config(fake), pacer=rest_pacer(fake.clock, patience=patience))


def sl_client(fake: SlackFake, *, patience: float = 600.0) -> Any:
    return slack_client(slack_config(fake), pacer=slack_pacer(fake.clock, patience=patience))


def slack_config(fake: SlackFake, token: str = SLACK_TOKEN) -> VendorConfig:
    return VendorConfig(slack_token=token, slack_api_url=fake.url + "/api/")


_DESIRED: dict[tuple[int, datetime], PagerDutyDesired] = {}


def desired_for(org: Org, now: datetime = NOW) -> PagerDutyDesired:
    """The desired state; the example org's is computed once per instant (it is pure)."""
    if org is not EXAMPLE:
        return desired_pagerduty(org, engine(org), now)
    key = (id(org), now)
    if key not in _DESIRED:
        _DESIRED[key] = desired_pagerduty(org, engine(org), now)
    return _DESIRED[key]


def pd_plan(fake: PagerDutyFake, org: Org = EXAMPLE, now: datetime = NOW) -> Plan:
    desired = desired_for(org, now)
    actual = pagerduty.fetch_actual(pd_client(fake), since=now, until=desired.until)
    return pagerduty.diff(desired, actual)


def pd_sync(fake: PagerDutyFake, org: Org = EXAMPLE, now: datetime = NOW) -> tuple[Plan, int]:
    """Plan and apply (the apply must be complete); the plan and the number of writes."""
    plan = pd_plan(fake, org, now)
    result = pagerduty.apply(pd_client(fake), plan)
    assert result.complete, result.problem()
    return plan, result.writes


def slack_plan(fake: SlackFake, org: Org = EXAMPLE, now: datetime = NOW) -> Plan:
    desired = slack.desired_slack(org, engine(org), now)
    return slack.diff(desired, slack.fetch_actual(sl_client(fake), desired))


def slack_sync(fake: SlackFake, org: Org = EXAMPLE, now: datetime = NOW) -> tuple[Plan, int]:
    plan = slack_plan(fake, org, now)
    result = slack.apply(sl_client(fake), plan)
    assert result.complete, result.problem()
    return plan, result.writes


def cli_env(monkeypatch: pytest.MonkeyPatch, pd: PagerDutyFake | None = None, sl: SlackFake | None = None) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", PD_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    if pd is not None:
        monkeypatch.setenv("OPSCTL_PAGERDUTY_API_URL", pd.url)
    if sl is not None:
        monkeypatch.setenv("OPSCTL_SLACK_API_URL", sl.url + "/api/")


def with_settings(org: Org, **pagerduty_settings: Any) -> Org:
    settings = replace(org.settings, pagerduty=replace(org.settings.pagerduty, **pagerduty_settings))
    return replace(org, settings=settings)


def with_slack_settings(org: Org, **slack_settings: Any) -> Org:
    return replace(org, settings=replace(org.settings, slack=replace(org.settings.slack, **slack_settings)))


def write_example(root: Path, edits: dict[str, tuple[str, str]] | None = None) -> Path:
    """The example org's files under ``root``, with ``path: (old, new)`` text replacements."""
    from tests.support import write_tree

    files = example_files()
    for path, (old, new) in (edits or {}).items():
        assert old in files[path], f"{path}: {old!r} not found"
        files[path] = files[path].replace(old, new, 1)
    return write_tree(root, files)
