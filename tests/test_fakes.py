"""The fakes themselves: the real clients work against them, and they reject what the vendors reject."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError

from opsctl.vendors.config import VendorConfig
from opsctl.vendors.pagerduty_api import rest_client
from opsctl.vendors.slack_api import slack_client
from tests.fakes.base import FakeService, Fault
from tests.fakes.slack import SlackFake
from tests.fakes.specs import check_pagerduty


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    fake = SlackFake(
        users={"ana@example.com": "U00000ANA"},
        tokens={"xoxb-good": frozenset({"users:read.email", "chat:write", "im:write", "usergroups:read"})},
    )
    fake.start()
    yield fake
    fake.stop()


def client_for(fake: FakeService, token: str = "xoxb-good"):  # type: ignore[no-untyped-def]
    return slack_client(VendorConfig(slack_token=token, slack_api_url=fake.url + "/api/"))


def test_slack_client_round_trip(slack: SlackFake) -> None:
    client = client_for(slack)
    assert client.users_lookupByEmail(email="ana@example.com")["user"]["id"] == "U00000ANA"
    channel = slack.add_channel("#data-eng")
    client.chat_postMessage(channel=channel.id, text="hello", metadata={"event_type": "t", "event_payload": {"k": 1}})
    assert slack.channel("data-eng").messages[0]["text"] == "hello"  # type: ignore[union-attr]
    assert slack.rejected == []


def test_slack_fake_rejects_what_slack_rejects(slack: SlackFake) -> None:
    client = client_for(slack)
    with pytest.raises(SlackApiError, match="missing_scope"):
        client.usergroups_users_update(usergroup="S1", users="U00000ANA")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call("conversations.setTopic", params={"channel": "C1"})
    with pytest.raises(SlackApiError, match="invalid_auth"):
        client_for(slack, token="xoxb-bad").auth_test()
    assert [why.split(":")[0] for _, why in slack.rejected] == ["missing_scope", "invalid_arguments", "invalid_auth"]


def test_rate_limits_are_retried_after_retry_after(slack: SlackFake) -> None:
    slack.inject(Fault(429, lambda r: r.path.endswith("users.lookupByEmail"), times=2, headers={"Retry-After": "0"}))
    assert client_for(slack).users_lookupByEmail(email="ana@example.com")["ok"]
    assert [r.status for r in slack.requests] == [429, 429, 200]


def test_pagerduty_description_checks() -> None:
    headers = {"authorization": "Token token=x", "accept": "application/vnd.pagerduty+json;version=2"}
    assert check_pagerduty("rest", "https://api.pagerduty.com", "GET", "/users", {"query": "a"}, headers, None) is None
    why = check_pagerduty("rest", "https://api.pagerduty.com", "POST", "/schedules", {}, headers, {"schedule": {"name": "x"}})
    assert why is not None and "time_zone" in why
    event = {
        "routing_key": "k" * 32,
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "critical"},
    }
    assert check_pagerduty("events", "https://events.pagerduty.com", "POST", "/v2/enqueue", {}, {}, event) is None
    assert (
        check_pagerduty("events", "https://events.pagerduty.com", "POST", "/v2/enqueue", {}, {}, {"event_action": "trigger"})
        is not None
    )


def test_pagerduty_rest_client_reaches_a_fake(slack: SlackFake) -> None:
    client = rest_client(VendorConfig(pagerduty_token="t", pagerduty_api_url=slack.url))
    assert client.get("/api/auth.test").status_code == 200
