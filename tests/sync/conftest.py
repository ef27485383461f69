"""Fixtures of the sync tests: the fake servers, shared by all tests and reset for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.fakes.slack import ALL_SCOPES, SlackFake
from tests.sync.support import EXAMPLE, PD_TOKEN, SLACK_TOKEN, shared_server, slack_user_id


@pytest.fixture
def pd_fake() -> Iterator[PagerDutyFake]:
    fake: PagerDutyFake = shared_server("pagerduty", PagerDutyFake)
    fake.reset({p.email: p.name for p in EXAMPLE.people.values()}, tokens={PD_TOKEN})
    yield fake
    assert fake.rejected == [], f"PagerDuty would refuse: {fake.rejected}"


@pytest.fixture
def slack_fake() -> Iterator[SlackFake]:
    fake: SlackFake = shared_server("slack", SlackFake)
    with fake.lock:  # SlackFake has no reset of its own: start from its constructor's state
        fake.requests.clear()
        fake.rejected.clear()
        fake.faults.clear()
        fake.users = {p.email.lower(): p.slack_id or slack_user_id(p.id) for p in EXAMPLE.people.values()}
        fake.tokens = {SLACK_TOKEN: ALL_SCOPES | {"channels:manage"}}
        fake.usergroups = {}
        fake.channels = {}
    for team in EXAMPLE.teams.values():
        if team.slack_channel:
            fake.add_channel(team.slack_channel, topic="Questions: see the pinned intake form")
    yield fake
    assert fake.rejected == [], f"Slack would refuse: {fake.rejected}"
