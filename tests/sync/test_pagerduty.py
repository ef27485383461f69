"""PagerDuty sync against the stateful fake, through the real `pagerduty` client on loopback."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from opsctl.errors import ServiceError
from opsctl.sync import pagerduty
from opsctl.sync.marker import read_marker
from opsctl.sync.pagerduty_desired import desired_pagerduty
from tests.fakes.base import Fault
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.sync.support import (
    EXAMPLE,
    NOW,
    applied_example,
    engine,
    example_files,
    org_from,
    pd_client,
    pd_plan,
    pd_sync,
    with_settings,
)


def managed_counts(fake: PagerDutyFake) -> dict[str, int]:
    return {
        "schedules": sum(read_marker(s["description"]) is not None for s in fake.schedules.values()),
        "policies": sum(read_marker(p["description"]) is not None for p in fake.policies.values()),
        "services": sum(read_marker(s["description"]) is not None for s in fake.services.values()),
        "integrations": sum(len(s["integrations"]) for s in fake.services.values()),
    }


def test_first_apply_creates_everything_and_the_second_writes_nothing(pd_fake: PagerDutyFake) -> None:
    plan, writes = pd_sync(pd_fake)
    assert plan.count("update") == plan.count("delete") == 0
    assert plan.notices == ()
    # 5 rotations of depth 2, 5 pipelines with 2 owner schedules each; a policy and service per pipeline and per team
    assert managed_counts(pd_fake) == {"schedules": 20, "policies": 10, "services": 10, "integrations": 10}
    assert writes == pd_fake.writes()
    overrides = sum(len(o) for o in pd_fake.overrides.values())
    assert overrides == plan.count("create") - 20 - 10 - 10 - 10
    # overrides go in one request per schedule
    assert writes == 20 + 10 + 10 + 10 + sum(1 for o in pd_fake.overrides.values() if o)

    pd_fake.reset_counts()
    again, writes = pd_sync(pd_fake)
    assert again.changes == ()
    assert not again.drift
    assert writes == 0
    assert pd_fake.writes() == 0
    assert len(again.in_sync) == len(plan.changes) - 0  # every object and override made is in sync


def test_policy_follows_the_chain_with_the_configured_delays(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    [policy] = [p for p in pd_fake.policies.values() if "(aggregate_profit_investors)" in p["name"]]
    names = {sid: s["name"] for sid, s in pd_fake.schedules.items()}
    rules = [
        (
            rule["escalation_delay_in_minutes"],
            [names.get(t["id"], pd_fake.users.get(t["id"], {}).get("name")) for t in rule["targets"]],
        )
        for rule in policy["escalation_rules"]
    ]
    assert rules == [
        (10, ["Aggregate Profit for Investors · first owner"]),
        (10, ["Aggregate Profit for Investors · second owner"]),
        (15, ["Data Engineering weekly on-call · primary"]),
        (15, ["Data Engineering weekly on-call · secondary"]),
        (15, ["Lena Hoffmann"]),
    ]
    [service] = [s for s in pd_fake.services.values() if s["policy"] == policy["id"]]
    assert service["incident_urgency_rule"] == {"type": "constant", "urgency": "high"}


def test_the_first_owner_schedule_hands_time_off_to_whoever_the_chain_pages(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "Aggregate Profit for Investors · first owner"]
    de1, de2, de3 = (pd_fake.user_by_email(EXAMPLE.people[p].email)["id"] for p in ("de1", "de2", "de3"))  # type: ignore[index]
    [layer] = schedule["layers"]
    assert layer["users"] == [de2]
    assert [(r["start_day_of_week"], r["start_time_of_day"], r["duration_seconds"]) for r in layer["restrictions"]] == [
        (day, "09:00:00", 9 * 3600) for day in range(1, 6)
    ]
    overrides = sorted(pd_fake.overrides[schedule["id"]].values(), key=lambda o: o["start"])
    # de2 (Chicago) is on winter holiday from 2026-12-21: de1 (Berlin) takes the hours both work,
    # then the on-call; on 2026-12-28 de1 is away too, so the on-call primary (de3) is paged first
    by_start = {o["start"].isoformat(): o["user"] for o in overrides}
    assert by_start["2026-12-21T15:00:00+00:00"] == de1
    assert by_start["2026-12-21T17:00:00+00:00"] != de1
    assert by_start["2026-12-28T15:00:00+00:00"] == de3


def test_reduced_duty_trades_places_between_primary_and_secondary(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    schedules = {s["name"]: s for s in pd_fake.schedules.values()}
    ie1, ie2 = (pd_fake.user_by_email(EXAMPLE.people[p].email)["id"] for p in ("ie1", "ie2"))  # type: ignore[index]
    # ie1 is primary on 2027-01-01, a public holiday in Madrid: ie2 is paged first that day
    primary = schedules["Data Infrastructure Data Engineering on-call · primary"]
    secondary = schedules["Data Infrastructure Data Engineering on-call · secondary"]
    day = [o for o in pd_fake.overrides[primary["id"]].values() if o["start"].isoformat() == "2026-12-31T23:00:00+00:00"]
    assert [o["user"] for o in day] == [ie2]
    back = [o for o in pd_fake.overrides[secondary["id"]].values() if o["start"].isoformat() == "2026-12-31T23:00:00+00:00"]
    assert [o["user"] for o in back] == [ie1]


def test_an_edit_updates_only_what_changed(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    text = files["ownership.yaml"]
    start = text.index("  - id: aggregate_engagement_investors")
    files["ownership.yaml"] = text[:start] + text[start:].replace("    secondary: de3\n", "    secondary: de4\n", 1)
    edited = org_from(files)
    assert edited.pipelines["aggregate_engagement_investors"].secondary == "de4"

    pd_fake.reset_counts()
    plan, writes = pd_sync(pd_fake, edited)
    assert plan.changes
    assert {c.key.split(":")[1] if c.kind != "override" else c.key.split(":")[2] for c in plan.changes} == {
        "aggregate_engagement_investors"
    }
    assert {(c.action, c.kind) for c in plan.changes if c.kind != "override"} == {("update", "schedule")}
    second = next(c for c in plan.changes if c.key == "schedule:aggregate_engagement_investors:second-owner")
    assert "layers" in {f.name for f in second.fields}
    assert writes == pd_fake.writes()
    assert pd_sync(pd_fake, edited)[0].changes == ()


def test_a_new_time_off_adds_overrides_and_removes_only_opsctl_ones(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    files["rotations/time_off.yaml"] += "  - person: ml1\n    start: 2026-12-08\n    end: 2026-12-09\n    reason: Dentist\n"
    later = org_from(files)
    plan, _ = pd_sync(pd_fake, later)
    kinds = {(c.action, c.kind) for c in plan.changes}
    assert ("create", "override") in kinds
    assert all(c.key.startswith(("override:schedule:mlops-oncall", "schedule:mlops-oncall")) for c in plan.changes)
    # taking the time off back out deletes exactly the overrides opsctl made for it
    back, _ = pd_sync(pd_fake)
    assert {(c.action, c.kind) for c in back.changes} <= {("delete", "override"), ("update", "schedule"), ("create", "override")}
    assert any(c.action == "delete" for c in back.changes)
    assert pd_sync(pd_fake)[0].changes == ()


def test_unmanaged_objects_are_never_touched(pd_fake: PagerDutyFake) -> None:
    someone = next(iter(pd_fake.users))
    policy = {
        "id": "PEMANUAL",
        "name": "Data Platform on-call (platform)",  # the name opsctl would give its team policy
        "description": "made by hand",
        "num_loops": 0,
        "escalation_rules": [{"escalation_delay_in_minutes": 30, "targets": [{"id": someone, "type": "user_reference"}]}],
    }
    pd_fake.policies["PEMANUAL"] = policy
    other = {
        "id": "PSOTHER",
        "name": "Another team",
        "description": "",
        "time_zone": "UTC",
        "layers": [],
    }
    pd_fake.schedules["PSOTHER"] = other
    before = copy.deepcopy((pd_fake.policies["PEMANUAL"], pd_fake.schedules["PSOTHER"]))
    plan, _ = pd_sync(pd_fake)
    assert (pd_fake.policies["PEMANUAL"], pd_fake.schedules["PSOTHER"]) == before
    assert not any(r.path.endswith(("PEMANUAL", "PSOTHER")) for r in pd_fake.requests if r.is_write)
    notices = {n.subject: n for n in plan.notices}
    assert notices["policy:team:platform"].level == "drift"
    assert "opsctl:managed key=policy:team:platform" in notices["policy:team:platform"].message
    assert "service:team:platform" in notices  # its service cannot be made without the policy
    assert "PSOTHER" not in pd_fake.overrides


def test_a_manual_override_is_drift_and_stays(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "MLOps on-call · primary"]
    ml1 = pd_fake.user_by_email(EXAMPLE.people["ml1"].email)["id"]  # type: ignore[index]
    manual = pd_fake.add_override(schedule["id"], NOW + timedelta(days=3), NOW + timedelta(days=3, hours=4), ml1)
    plan, writes = pd_sync(pd_fake)
    assert plan.changes == ()
    assert plan.drift
    [notice] = plan.notices
    assert notice.level == "drift" and "manual override ml1 from 2026-11-25T16:00-08:00" in notice.message
    assert writes == 0
    assert manual["id"] in pd_fake.overrides[schedule["id"]]


def test_rate_limits_are_waited_out_as_told(pd_fake: PagerDutyFake) -> None:
    pd_fake.inject(
        Fault(429, lambda r: r.method == "POST" and r.path == "/escalation_policies", times=2, headers={"Retry-After": "7"})
    )
    slept: list[float] = []
    desired = desired_pagerduty(EXAMPLE, engine(EXAMPLE), NOW)
    client = pd_client(pd_fake, slept)
    plan = pagerduty.diff(desired, pagerduty.fetch_actual(client, since=NOW, until=desired.until))
    pagerduty.apply(client, plan)
    assert slept == [7.0, 7.0]
    assert [r.status for r in pd_fake.requests if r.path == "/escalation_policies" and r.method == "POST"][:3] == [429, 429, 201]
    assert pd_plan(pd_fake).changes == ()


def test_a_server_error_mid_apply_is_finished_by_the_next_apply(pd_fake: PagerDutyFake) -> None:
    posts = [0]

    def third_service(request: object) -> bool:
        if getattr(request, "method", "") == "POST" and getattr(request, "path", "") == "/services":
            posts[0] += 1
            return posts[0] == 3
        return False

    pd_fake.inject(Fault(503, third_service, body='{"error": {"message": "Service Unavailable", "code": 5000}}'))
    with pytest.raises(ServiceError) as failed:
        pd_sync(pd_fake)
    message = str(failed.value)
    assert message.startswith("PagerDuty answered 503 to POST /services: Service Unavailable; while trying to create service")
    assert "run the sync again to finish" in message
    made = managed_counts(pd_fake)
    assert made["services"] == 2 and made["schedules"] == 20
    plan, _ = pd_sync(pd_fake)
    assert {c.kind for c in plan.changes} == {"service", "integration"}
    assert managed_counts(pd_fake) == {"schedules": 20, "policies": 10, "services": 10, "integrations": 10}
    assert pd_plan(pd_fake).changes == ()


def test_a_server_error_between_the_override_list_and_the_overrides_loses_nothing(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    files["rotations/time_off.yaml"] += "  - person: dp1\n    start: 2026-12-08\n    end: 2026-12-09\n    reason: Dentist\n"
    later = org_from(files)
    pd_fake.inject(Fault(500, lambda r: r.method == "POST" and r.path.endswith("/overrides")))
    with pytest.raises(ServiceError):
        pd_sync(pd_fake, later)
    # the schedule's marker already lists the overrides; the next run makes them and calls none of them manual
    plan, _ = pd_sync(pd_fake, later)
    assert not any(n.level == "drift" for n in plan.notices)
    primary = [
        c
        for c in plan.changes
        if c.key.startswith(("schedule:platform-oncall:primary", "override:schedule:platform-oncall:primary"))
    ]
    assert primary and {(c.action, c.kind) for c in primary} == {("create", "override")}
    final = pd_plan(pd_fake, later)
    assert final.changes == () and not final.drift


def test_a_person_without_a_pagerduty_user_is_reported(pd_fake: PagerDutyFake) -> None:
    del pd_fake.users[pd_fake.user_by_email(EXAMPLE.people["ml2"].email)["id"]]  # type: ignore[index]
    plan, _ = pd_sync(pd_fake)
    warnings = [n for n in plan.notices if n.level == "warning"]
    assert [n.subject for n in warnings] == ["person ml2"]
    assert "Ravi" not in warnings[0].message or "ml2" in warnings[0].message
    assert "is not in PagerDuty (no user has that email)" in warnings[0].message
    blocked = {n.subject for n in plan.notices if n.level == "drift"}
    assert "schedule:mlops-oncall:primary" in blocked
    # everything else was made
    assert managed_counts(pd_fake)["schedules"] == 18


def test_services_per_team(pd_fake: PagerDutyFake) -> None:
    org = with_settings(EXAMPLE, service_per="team")
    plan, _ = pd_sync(pd_fake, org)
    assert managed_counts(pd_fake) == {"schedules": 10, "policies": 5, "services": 5, "integrations": 5}
    assert not any("owner" in c.key for c in plan.changes)


@pytest.mark.parametrize(
    "later",
    [timedelta(hours=12), timedelta(days=33, hours=7, minutes=41), timedelta(days=125, hours=1, minutes=30)],
    ids=["monday-noon", "christmas-week", "dst-weekend"],
)
def test_a_second_apply_writes_nothing_at_any_instant(pd_fake: PagerDutyFake, later: timedelta) -> None:
    # overrides reach past the horizon, begin before now, are cut by working hours and DST:
    # whatever the instant, what the first apply made is what the second plan wants
    pd_sync(pd_fake, now=NOW + later)
    pd_fake.reset_counts()
    plan, writes = pd_sync(pd_fake, now=NOW + later)
    assert plan.changes == () and not plan.drift
    assert writes == pd_fake.writes() == 0
    # and a run a few minutes later changes nothing either (the ongoing overrides still match)
    assert pd_plan(pd_fake, now=NOW + later + timedelta(minutes=7)).changes == ()


def test_a_create_whose_answer_is_lost_is_found_again_not_made_twice(pd_fake: PagerDutyFake) -> None:
    # PagerDuty made the policy, then answered 502: the next run finds it by its marker
    pd_fake.fail_after.append(Fault(502, lambda r: r.method == "POST" and r.path == "/escalation_policies", body='{"error": {}}'))
    with pytest.raises(ServiceError, match="PagerDuty answered 502 to POST /escalation_policies"):
        pd_sync(pd_fake)
    [made] = [read_marker(p["description"]) for p in pd_fake.policies.values()]
    assert made is not None
    plan, _ = pd_sync(pd_fake)
    assert [c.action for c in plan.changes if c.key == made.key] == []
    assert made.key in plan.in_sync
    assert managed_counts(pd_fake) == {"schedules": 20, "policies": 10, "services": 10, "integrations": 10}
    assert len({p["name"] for p in pd_fake.policies.values()}) == 10
    assert pd_plan(pd_fake).changes == ()
