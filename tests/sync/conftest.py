"""Fixtures of the sync tests: the fake servers, shared by all tests and reset for each, and
one simulated clock per test shared by the fakes and every pacer (so minutes of waiting for
rate limits or an outage take no real time)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsctl.vendors import pacing
from tests.fakes.base import SimClock
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.fakes.slack import ALL_SCOPES, SlackFake
from tests.sync.support import EXAMPLE, NOW, PD_TOKEN, SLACK_TOKEN, shared_server, slack_user_id


@pytest.fixture(autouse=True)
def sim_clock(monkeypatch: pytest.MonkeyPatch) -> SimClock:
    """The test's clock: what the pacers of the commands under test wait on (the system clock replaced)."""
    clock = SimClock(NOW)
    monkeypatch.setattr(pacing.SystemClock, "monotonic", lambda self: clock.monotonic())
    monkeypatch.setattr(pacing.SystemClock, "sleep", lambda self, seconds: clock.sleep(seconds))
    return clock


@pytest.fixture
def pd_fake(sim_clock: SimClock) -> Iterator[PagerDutyFake]:
    fake: PagerDutyFake = shared_server("pagerduty", PagerDutyFake)
    fake.reset({p.email: p.name for p in EXAMPLE.people.values()}, tokens={PD_TOKEN})
    fake.clock = sim_clock
    yield fake
    assert fake.rejected == [], f"PagerDuty would refuse: {fake.rejected}"


@pytest.fixture
def slack_fake(sim_clock: SimClock) -> Iterator[SlackFake]:
    fake: SlackFake = shared_server("slack", SlackFake)
    with fake.lock:  # SlackFake has no reset of its own: start from its constructor's state
        fake.requests.clear()
        fake.rejected.clear()
        fake.faults.clear()
        fake.users = {p.email.lower(): p.slack_id or slack_user_id(p.id) for p in EXAMPLE.people.values()}
        fake.tokens = {SLACK_TOKEN: ALL_SCOPES | {"channels:manage"}}
        fake.usergroups = {}
        fake.channels = {}
        fake.clock = sim_clock
        fake.tiers = True
        fake._windows = {}
        fake.rate_limited = 0
    for team in EXAMPLE.teams.values():
        if team.slack_channel:
            fake.add_channel(team.slack_channel, topic="Questions: see the pinned intake form")
    yield fake
    assert fake.rejected == [], f"Slack would refuse: {fake.rejected}"
