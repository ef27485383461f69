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


def test_slack_fake_refuses_handles_a_user_name_could_not_have() -> None:
    fake = SlackFake(users={}, tokens={"xoxb-good": frozenset({"usergroups:write", "usergroups:read"})})
    fake.start()
    try:
        client = client_for(fake)
        for handle in ("Data-Eng-Oncall", "data eng", "on@call"):
            with pytest.raises(SlackApiError, match="bad_handle"):
                client.usergroups_create(name=f"group {handle}", handle=handle)
        made = client.usergroups_create(name="Data on-call", handle="data_eng.on-call2")["usergroup"]
        with pytest.raises(SlackApiError, match="bad_handle"):
            client.usergroups_update(usergroup=made["id"], handle="Data")
        assert [why for _, why in fake.rejected] == ["bad_handle"] * 4
        assert [g["handle"] for g in fake.usergroups.values()] == ["data_eng.on-call2"]
    finally:
        fake.stop()


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


def test_pagerduty_fake_cuts_overrides_at_the_bounds_unless_overflow() -> None:
    from datetime import UTC, datetime, timedelta

    from tests.fakes.base import SimClock
    from tests.fakes.pagerduty_rest import PagerDutyFake

    fake = PagerDutyFake({"ana@example.com": "Ana"}, tokens={"t"})
    start = datetime(2026, 12, 1, tzinfo=UTC)
    fake.clock = SimClock(start)
    fake.start()
    try:
        client = rest_client(VendorConfig(pagerduty_token="t", pagerduty_api_url=fake.url))
        ana = next(iter(fake.users))
        layer = {
            "start": "2026-01-05T00:00:00Z",
            "rotation_virtual_start": "2026-01-05T00:00:00Z",
            "rotation_turn_length_seconds": 604800,
            "users": [{"user": {"id": ana, "type": "user_reference"}}],
        }
        made = client.rpost(
            "/schedules", json={"schedule": {"type": "schedule", "name": "S", "time_zone": "UTC", "schedule_layers": [layer]}}
        )
        sid = made["id"]
        override = fake.add_override(sid, start - timedelta(days=1), start + timedelta(days=30), ana)
        window = {"since": "2026-12-01T00:00:00Z", "until": "2026-12-15T00:00:00Z"}
        cut = client.rget(f"/schedules/{sid}/overrides", params=window)
        whole = client.rget(f"/schedules/{sid}/overrides", params=window | {"overflow": "true"})
        assert (cut[0]["start"], cut[0]["end"]) == ("2026-12-01T00:00:00+00:00", "2026-12-15T00:00:00+00:00")
        assert (whole[0]["start"], whole[0]["end"]) == ("2026-11-30T00:00:00+00:00", "2026-12-31T00:00:00+00:00")
        # deleting it while it runs only cuts it short at the fake's now (200, not 204)
        assert client.delete(f"/schedules/{sid}/overrides/{override['id']}").status_code == 200
        assert fake.overrides[sid][override["id"]]["end"] == start
        response = client.get("/users")
        assert response.headers["ratelimit-limit"] == "960" and int(response.headers["ratelimit-remaining"]) < 960
        assert fake.rejected == []
    finally:
        fake.stop()


def test_slack_fake_lists_emails_only_with_the_scope_and_sends_scopes_on_every_answer(slack: SlackFake) -> None:
    slack.tokens["xoxb-plain"] = frozenset({"users:read"})
    plain = client_for(slack, token="xoxb-plain").users_list(limit=200)
    assert plain["members"][0]["profile"] == {} and plain.headers["x-oauth-scopes"] == "users:read"
    slack.tokens["xoxb-good"] = slack.tokens["xoxb-good"] | {"users:read"}
    full = client_for(slack).users_list(limit=200)
    assert full["members"][0]["profile"]["email"] == "ana@example.com"
