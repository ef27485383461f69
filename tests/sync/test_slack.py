"""Slack sync and handoff messages against the stateful fake, through the real slack_sdk client."""

from __future__ import annotations

from datetime import timedelta

from opsctl.sync import slack
from opsctl.sync.handoff import EVENT_TYPE, notify_handoffs
from opsctl.vendors.slack_api import slack_client
from tests.fakes.base import Fault
from tests.fakes.slack import SlackFake
from tests.sync.support import EXAMPLE, NOW, engine, slack_config, slack_plan, slack_sync, slack_user_id, slack_writes

LATER = NOW + timedelta(hours=12)
"""Monday 2026-11-23 12:00 UTC: the week's handoffs in Europe are done (MLOps hands off at 17:00 UTC)."""


def members(fake: SlackFake, handle: str) -> list[str]:
    [group] = [g for g in fake.usergroups.values() if g["handle"] == handle]
    return sorted(group["users"])


def test_first_apply_makes_groups_and_topics_and_the_second_writes_nothing(slack_fake: SlackFake) -> None:
    plan, writes = slack_sync(slack_fake, now=LATER)
    assert {c.kind for c in plan.changes} == {"user group", "channel topic"}
    assert plan.count("create") == 5 and plan.count("update") == 5
    assert writes == slack_writes(slack_fake) == 15  # create + members for 5 groups, 5 topics
    # on 2026-11-23 de4 is primary (swap for de3's holiday week) and de1 secondary
    assert members(slack_fake, "data-eng-oncall") == sorted([EXAMPLE.people["de1"].slack_id or "", slack_user_id("de4")])
    topic = slack_fake.channel("data-eng").topic  # type: ignore[union-attr]
    assert topic == (
        "On call: Elif Yıldız (primary), Lena Hoffmann (secondary) · @data-eng-oncall | Questions: see the pinned intake form"
    )
    slack_fake.reset_counts()
    again, writes = slack_sync(slack_fake, now=LATER)
    assert again.changes == () and writes == 0 and slack_writes(slack_fake) == 0


def test_a_shift_change_updates_members_and_topic_only(slack_fake: SlackFake) -> None:
    slack_sync(slack_fake, now=LATER)
    later = LATER + timedelta(days=7)  # the next weekly shift everywhere
    plan, _ = slack_sync(slack_fake, now=later)
    assert {(c.action, c.kind) for c in plan.changes} == {("update", "user group"), ("update", "channel topic")}
    assert all({f.name for f in c.fields} <= {"members", "topic"} for c in plan.changes)
    assert slack_sync(slack_fake, now=later)[0].changes == ()


def test_a_group_opsctl_did_not_make_is_left_alone(slack_fake: SlackFake) -> None:
    theirs = slack_fake.add_usergroup("mlops-oncall", "MLOps people", users=[slack_user_id("ml1")], description="by hand")
    plan, _ = slack_sync(slack_fake)
    assert theirs["users"] == [slack_user_id("ml1")] and theirs["description"] == "by hand"
    [notice] = [n for n in plan.notices if n.subject == "usergroup:mlops"]
    assert notice.level == "drift" and "opsctl did not create it" in notice.message
    assert not any(c.key == "usergroup:mlops" for c in plan.changes)


def test_a_person_missing_from_slack_is_reported(slack_fake: SlackFake) -> None:
    del slack_fake.users[EXAMPLE.people["de2"].email.lower()]  # on call (secondary) at NOW
    plan = slack_plan(slack_fake)
    [notice] = [n for n in plan.notices if n.subject == "person de2"]
    assert notice.level == "warning" and "is not in Slack" in notice.message
    assert [why for _, why in slack_fake.rejected] == ["users_not_found"]
    slack_fake.rejected.clear()


def test_rate_limited_lookups_are_retried(slack_fake: SlackFake) -> None:
    slack_fake.inject(Fault(429, lambda r: r.path.endswith("users.lookupByEmail"), headers={"Retry-After": "0"}))
    plan = slack_plan(slack_fake)
    assert not any(n.subject.startswith("person") for n in plan.notices)
    assert [r.status for r in slack_fake.requests if r.path.endswith("users.lookupByEmail")][:2] == [429, 200]


def test_handoff_is_posted_exactly_once_per_shift_change(slack_fake: SlackFake) -> None:
    client = slack_client(slack_config(slack_fake))
    for _ in range(3):  # cron runs it again and again
        results, _ = notify_handoffs(client, EXAMPLE, engine(EXAMPLE), NOW + timedelta(hours=10))
    channel = slack_fake.channel("data-eng")
    assert channel is not None
    [message] = channel.messages
    assert message["metadata"]["event_type"] == EVENT_TYPE
    assert message["metadata"]["event_payload"]["rotation"] == "data-eng-weekly"
    assert {r.outcome for r in results} == {"already posted"}
    text = message["text"]
    assert text.splitlines()[0].startswith(
        "*On-call handoff: Data Engineering weekly on-call* (shift 46: Mon 2026-11-23 09:00 CET"
    )
    assert "Incoming: primary <@U000000DE4> (Elif Yıldız), secondary <@U04LHF7K2M> (Lena Hoffmann)" in text
    assert "Outgoing: primary" in text and "Next shifts:" in text
    # the next shift change posts the next message, once
    for _ in range(2):
        notify_handoffs(client, EXAMPLE, engine(EXAMPLE), NOW + timedelta(days=7, hours=10))
    assert len(channel.messages) == 2


def test_handoff_names_reduced_duty_ahead(slack_fake: SlackFake) -> None:
    client = slack_client(slack_config(slack_fake))
    at = NOW + timedelta(days=35, hours=12)  # 2026-12-28: ie1's week with the New Year holiday
    results, _ = notify_handoffs(client, EXAMPLE, engine(EXAMPLE), at, dry_run=True)
    [infra] = [r for r in results if r.rotation == "infra-data-eng-oncall"]
    assert infra.outcome == "would post"
    assert "Reduced duty ahead in this shift:" in infra.text
    assert "New Year" in infra.text or "holiday" in infra.text
    assert slack_writes(slack_fake) == 0


def test_topic_keeps_what_others_wrote() -> None:
    ours = "On call: A (primary) · @t-oncall"
    assert slack.compose_topic("", ours) == ours
    assert slack.compose_topic("On call: B (primary) · @t-oncall | Standup 10:00", ours) == f"{ours} | Standup 10:00"
    assert len(slack.compose_topic("x" * 240, ours)) <= 250
