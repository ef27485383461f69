"""Slack sync and handoff messages against the stateful fake, through the real slack_sdk client."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsctl.sync import slack
from opsctl.sync.handoff import EVENT_TYPE, notify_handoffs
from tests.fakes.base import Fault
from tests.fakes.slack import SlackFake
from tests.sync.support import (
    EXAMPLE,
    NOW,
    engine,
    sl_client,
    slack_plan,
    slack_sync,
    slack_user_id,
    slack_writes,
    with_slack_settings,
)


def at(fake: SlackFake, when: datetime) -> datetime:
    """Move the test's clock (the fake's and the pacers') to ``when``."""
    fake.clock.elapsed = (when - NOW).total_seconds()  # type: ignore[union-attr]
    return when


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


def test_people_are_found_in_one_paginated_read_not_one_call_each(slack_fake: SlackFake) -> None:
    plan = slack_plan(slack_fake)
    methods = [r.path.removeprefix("/api/") for r in slack_fake.requests]
    assert methods == ["users.list", "usergroups.list", "conversations.list"]
    assert not any(n.subject.startswith("person") for n in plan.notices)


def test_a_429_is_waited_out_as_retry_after_says(slack_fake: SlackFake) -> None:
    slack_fake.inject(
        Fault(
            429,
            lambda r: r.path.endswith("users.list"),
            headers={"Retry-After": "3"},
            body='{"ok": false, "error": "ratelimited"}',
        )
    )
    plan = slack_plan(slack_fake)
    assert not any(n.subject.startswith("person") for n in plan.notices)
    assert [r.status for r in slack_fake.requests if r.path.endswith("users.list")][:2] == [429, 200]
    assert 3.0 in slack_fake.clock.slept  # type: ignore[union-attr]


def test_a_first_apply_is_paced_within_the_method_tiers(slack_fake: SlackFake) -> None:
    slack_sync(slack_fake, now=at(slack_fake, LATER))
    assert slack_fake.rate_limited == 0


def test_a_name_taken_by_a_group_opsctl_does_not_keep_is_a_finding_and_the_rest_is_applied(slack_fake: SlackFake) -> None:
    """Slack refuses a second group named "MLOps on-call" (name_already_exists), case aside."""
    theirs = slack_fake.add_usergroup("ml-people", "mlops ON-CALL", users=[slack_user_id("ml1")])
    plan, _ = slack_sync(slack_fake, now=at(slack_fake, LATER))
    [finding] = [n for n in plan.notices if n.subject == "usergroup:mlops"]
    assert finding.level == "drift" and "name_already_exists" in finding.message and "@ml-people" in finding.message
    assert theirs["handle"] == "ml-people" and theirs["description"] == ""
    assert len([g for g in slack_fake.usergroups.values() if g["description"].endswith("key=usergroup:data-eng")]) == 1
    # the MLOps topic does not advertise a handle opsctl does not keep
    topic = slack_fake.channel("mlops").topic  # type: ignore[union-attr]
    assert topic.startswith("On call:") and "@mlops-oncall" not in topic
    again = slack_plan(slack_fake, now=LATER)
    assert again.changes == () and [n.subject for n in again.notices if n.level == "drift"] == ["usergroup:mlops"]


def test_a_channel_the_bot_is_not_in_is_a_finding_and_the_other_topics_are_set(slack_fake: SlackFake) -> None:
    channel = slack_fake.channel("data-eng")
    assert channel is not None
    channel.is_member = False
    plan, _ = slack_sync(slack_fake, now=at(slack_fake, LATER))
    [finding] = [n for n in plan.notices if n.subject == "topic:data-eng"]
    assert finding.level == "drift" and "not_in_channel" in finding.message and "/invite" in finding.message
    assert channel.topic == "Questions: see the pinned intake form"
    others = [c for c in slack_fake.channels.values() if c.name != "data-eng"]
    assert others and all(c.topic.startswith("On call:") for c in others)


def test_somebody_away_is_not_in_the_on_call_group(slack_fake: SlackFake) -> None:
    found = None
    for hours in range(0, 24 * 120, 6):
        when = NOW + timedelta(hours=hours)
        for team in EXAMPLE.teams.values():
            for item in slack.oncall_people(EXAMPLE, engine(EXAMPLE), team.id, when):
                if item.secondary and not item.secondary_available and item.primary_available:
                    found = (when, team.id, item)
                    break
            if found:
                break
        if found:
            break
    assert found is not None, "the example should have a secondary away at some point"
    when, team, item = found
    desired = slack.desired_slack(EXAMPLE, engine(EXAMPLE), when)
    [group] = [g for g in desired.usergroups if g.team == team]
    assert item.secondary not in group.members and item.primary in group.members
    [topic] = [t for t in desired.topics if t.team == team]
    assert "(secondary, away)" in topic.text


def test_handoff_is_posted_exactly_once_per_shift_change(slack_fake: SlackFake) -> None:
    client = sl_client(slack_fake)
    when = at(slack_fake, NOW + timedelta(hours=10))
    for _ in range(3):  # cron runs it again and again
        results, _ = notify_handoffs(client, EXAMPLE, engine(EXAMPLE), when)
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
    when = at(slack_fake, NOW + timedelta(days=7, hours=10))
    for _ in range(2):
        notify_handoffs(client, EXAMPLE, engine(EXAMPLE), when)
    assert len(channel.messages) == 2


def test_handoff_history_is_read_in_pages_since_the_shift_began(slack_fake: SlackFake) -> None:
    client = sl_client(slack_fake)
    channel = slack_fake.channel("data-eng")
    assert channel is not None
    when = at(slack_fake, NOW + timedelta(hours=10))
    for number in range(250):  # a busy channel: the handoff is found below two pages of chatter
        channel.messages.append({"type": "message", "ts": f"{int(when.timestamp()) - 3000}.{number:06d}", "text": "chatter"})
    notify_handoffs(client, EXAMPLE, engine(EXAMPLE), when)
    for number in range(250):
        channel.messages.append({"type": "message", "ts": f"{int(when.timestamp()) + 60}.{number:06d}", "text": "chatter"})
    slack_fake.reset_counts()
    results, _ = notify_handoffs(client, EXAMPLE, engine(EXAMPLE), when)
    assert {r.outcome for r in results if r.channel == "data-eng"} == {"already posted"}
    pages = [r for r in slack_fake.requests if r.path.endswith("conversations.history") and r.body.get("channel") == channel.id]
    assert len(pages) >= 3 and all(r.body.get("oldest") for r in pages)


def test_handoff_names_reduced_duty_ahead(slack_fake: SlackFake) -> None:
    client = sl_client(slack_fake)
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


def test_a_handle_taken_is_fixed_by_the_handle_setting(slack_fake: SlackFake) -> None:
    """An unmanaged group holds @mlops-oncall: the finding names settings.slack.usergroup_handle;
    with it changed, opsctl's groups move to the new handles (found by their marker), the
    MLOps group is made, the topics advertise the new handles, and a second apply writes nothing."""
    theirs = slack_fake.add_usergroup("mlops-oncall", "ML people", users=[slack_user_id("ml1")], description="by hand")
    plan, _ = slack_sync(slack_fake, now=at(slack_fake, LATER))
    [finding] = [n for n in plan.notices if n.subject == "usergroup:mlops"]
    assert finding.message.endswith(
        "or set settings.slack.usergroup_handle (now '{team}-oncall') in ownership.yaml to give opsctl's another handle"
    )
    renamed = with_slack_settings(EXAMPLE, usergroup_handle="oncall-{team}")
    plan, _ = slack_sync(slack_fake, renamed, now=LATER)
    assert not [n for n in plan.notices if n.level == "drift"]
    assert {(c.action, c.key) for c in plan.changes if c.kind == "user group"} == {
        ("create", "usergroup:mlops"),
        *(("update", f"usergroup:{team}") for team in ("data-eng", "platform", "infra-data-eng", "bi-services")),
    }
    handles = sorted(g["handle"] for g in slack_fake.usergroups.values())
    assert handles == sorted(
        ["mlops-oncall", *(f"oncall-{t}" for t in ("data-eng", "platform", "infra-data-eng", "mlops", "bi-services"))]
    )
    assert theirs["handle"] == "mlops-oncall" and theirs["description"] == "by hand"
    assert "· @oncall-mlops" in slack_fake.channel("mlops").topic  # type: ignore[union-attr]
    slack_fake.reset_counts()
    again, writes = slack_sync(slack_fake, renamed, now=LATER)
    assert again.changes == () and writes == 0 and slack_writes(slack_fake) == 0


def test_a_name_taken_is_fixed_by_the_name_setting(slack_fake: SlackFake) -> None:
    slack_fake.add_usergroup("ml-people", "mlops ON-CALL", users=[slack_user_id("ml1")])
    plan = slack_plan(slack_fake, now=at(slack_fake, LATER))
    [finding] = [n for n in plan.notices if n.subject == "usergroup:mlops"]
    assert "name_already_exists" in finding.message
    assert finding.message.endswith(
        "or set settings.slack.usergroup_name (now '{team_name} on-call') in ownership.yaml to give opsctl's another name"
    )
    renamed = with_slack_settings(EXAMPLE, usergroup_name="{team_name} on call now")
    plan, _ = slack_sync(slack_fake, renamed, now=LATER)
    assert not [n for n in plan.notices if n.level == "drift"]
    [made] = [g for g in slack_fake.usergroups.values() if g["handle"] == "mlops-oncall"]
    assert made["name"] == "MLOps on call now"
    slack_fake.reset_counts()
    assert slack_sync(slack_fake, renamed, now=LATER) == (slack_plan(slack_fake, renamed, now=LATER), 0)
    assert slack_writes(slack_fake) == 0


def test_a_handle_that_is_a_channel_name_points_at_the_setting(slack_fake: SlackFake) -> None:
    slack_fake.add_channel("#platform-oncall")
    plan = slack_plan(slack_fake, now=at(slack_fake, LATER))
    [finding] = [n for n in plan.notices if n.subject == "usergroup:platform"]
    assert "handle_already_exists" in finding.message and "settings.slack.usergroup_handle" in finding.message
