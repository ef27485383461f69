"""PagerDuty sync against the stateful fake, through the real `pagerduty` client on loopback."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from opsctl.sync import pagerduty
from opsctl.sync.marker import read_marker
from tests.fakes.base import Fault, Recorded
from tests.fakes.pagerduty_rest import PagerDutyFake
from tests.sync.support import (
    EXAMPLE,
    NOW,
    applied_example,
    desired_for,
    example_files,
    org_from,
    pd_client,
    pd_plan,
    pd_sync,
    with_settings,
)

PEOPLE_SCHEDULES = 9
"""The example's people paged as owner or lead: a schedule each (de1 twice: owner in working hours, and lead)."""


def managed_counts(fake: PagerDutyFake) -> dict[str, int]:
    return {
        "schedules": sum(read_marker(s["description"]) is not None for s in fake.schedules.values()),
        "policies": sum(read_marker(p["description"]) is not None for p in fake.policies.values()),
        "services": sum(read_marker(s["description"]) is not None for s in fake.services.values()),
        "integrations": sum(len(s["integrations"]) for s in fake.services.values()),
    }


def user(fake: PagerDutyFake, person: str) -> str:
    found = fake.user_by_email(EXAMPLE.people[person].email)
    assert found is not None
    return str(found["id"])


def test_first_apply_creates_everything_and_the_second_writes_nothing(pd_fake: PagerDutyFake) -> None:
    plan, writes = pd_sync(pd_fake)
    assert plan.count("update") == plan.count("delete") == 0
    assert plan.notices == ()
    # 5 rotations of depth 2, a schedule per person paged as owner or lead; a policy per team and per
    # owner pair (the example's 5 pipelines have 5 pairs), a service per pipeline and per team
    assert managed_counts(pd_fake) == {"schedules": 10 + PEOPLE_SCHEDULES, "policies": 10, "services": 10, "integrations": 10}
    assert writes == pd_fake.writes()
    assert pd_fake.rate_limited == 0
    overrides = sum(len(o) for o in pd_fake.overrides.values())
    assert overrides == plan.count("create") - 19 - 10 - 10 - 10
    # overrides go in one request per schedule
    assert writes == 19 + 10 + 10 + 10 + sum(1 for o in pd_fake.overrides.values() if o)

    pd_fake.reset_counts()
    again, writes = pd_sync(pd_fake)
    assert again.changes == ()
    assert not again.drift
    assert writes == 0
    assert pd_fake.writes() == 0
    assert len(again.in_sync) == len(plan.changes)  # every object and override made is in sync
    # a no-change plan: one page each of users, schedules, policies and services, and one
    # override read per managed schedule
    assert pd_fake.reads() == 4 + 19


def test_policy_follows_the_chain_with_the_configured_delays(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    [policy] = [p for p in pd_fake.policies.values() if p["name"].endswith("(de2, de1; data-eng)")]
    names = {sid: s["name"] for sid, s in pd_fake.schedules.items()}
    rules = [
        (
            rule["escalation_delay_in_minutes"],
            [names.get(t["id"], pd_fake.users.get(t["id"], {}).get("name")) for t in rule["targets"]],
        )
        for rule in policy["escalation_rules"]
    ]
    assert rules == [
        (10, ["Daniel Okafor (de2) · in working hours"]),
        (10, ["Lena Hoffmann (de1) · in working hours"]),
        (15, ["Data Engineering weekly on-call · primary"]),
        (15, ["Data Engineering weekly on-call · secondary"]),
        (15, ["Lena Hoffmann (de1) · available"]),
    ]
    services = [s for s in pd_fake.services.values() if s["policy"] == policy["id"]]
    assert [s["name"] for s in services] == ["Aggregate Profit for Investors (aggregate_profit_investors)"]
    assert services[0]["incident_urgency_rule"] == {"type": "constant", "urgency": "high"}


def test_a_persons_schedule_has_nobody_on_call_while_they_are_away(pd_fake: PagerDutyFake) -> None:
    """de2 (Chicago) is on winter holiday 2026-12-21 to 2027-01-01: a gap between two layers,
    so PagerDuty passes over the level at once and the chain goes on to the next owner."""
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "Daniel Okafor (de2) · in working hours"]
    assert pd_fake.overrides.get(schedule["id"], {}) == {}
    chicago = "America/Chicago"
    bounds = [
        (
            layer["start"].astimezone(UTC),
            layer["end"].astimezone(UTC) if layer["end"] else None,
        )
        for layer in schedule["layers"]
    ]
    holiday_start = datetime(2026, 12, 21, 6, 0, tzinfo=UTC)  # local midnight in Chicago
    holiday_end = datetime(2027, 1, 2, 6, 0, tzinfo=UTC)
    assert any(end == holiday_start for _, end in bounds)
    assert any(start == holiday_end for start, _ in bounds)
    assert not any(start < holiday_end and (end is None or end > holiday_start) for start, end in bounds)
    assert bounds[-1][1] is None  # the last layer never ends
    for layer in schedule["layers"]:
        assert layer["users"] == [user(pd_fake, "de2")]
        assert [(r["start_day_of_week"], r["start_time_of_day"], r["duration_seconds"]) for r in layer["restrictions"]] == [
            (day, "09:00:00", 9 * 3600) for day in range(1, 6)
        ]
    assert schedule["time_zone"] == chicago


def test_reduced_duty_trades_places_between_primary_and_secondary(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    schedules = {s["name"]: s for s in pd_fake.schedules.values()}
    ie1, ie2 = user(pd_fake, "ie1"), user(pd_fake, "ie2")
    # ie1 is primary on 2027-01-01, a public holiday in Madrid: ie2 is paged first that day
    primary = schedules["Data Infrastructure Data Engineering on-call · primary"]
    secondary = schedules["Data Infrastructure Data Engineering on-call · secondary"]
    day = [o for o in pd_fake.overrides[primary["id"]].values() if o["start"].isoformat() == "2026-12-31T23:00:00+00:00"]
    assert [o["user"] for o in day] == [ie2]
    back = [o for o in pd_fake.overrides[secondary["id"]].values() if o["start"].isoformat() == "2026-12-31T23:00:00+00:00"]
    assert [o["user"] for o in back] == [ie1]


def test_a_new_owner_makes_a_policy_for_the_new_pair_and_moves_the_service(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    text = files["ownership.yaml"]
    start = text.index("  - id: aggregate_engagement_investors")
    files["ownership.yaml"] = text[:start] + text[start:].replace("    secondary: de3\n", "    secondary: de2\n", 1)
    edited = org_from(files)
    pd_fake.reset_counts()
    plan, writes = pd_sync(pd_fake, edited)
    # the pipeline's service moves to the policy of its new owner pair (made if no pipeline had it)
    assert {(c.action, c.kind) for c in plan.changes} <= {("create", "escalation policy"), ("update", "service")}
    service = next(c for c in plan.changes if c.kind == "service")
    assert service.key == "service:pipeline:aggregate_engagement_investors"
    assert [(f.name, f.before, f.after) for f in service.fields] == [
        ("escalation policy", "policy:owners:data-eng:de1:de3", "policy:owners:data-eng:de1:de2")
    ]
    assert writes == pd_fake.writes() == len(plan.changes)
    # the pair's old policy, no longer used, is reported and left
    assert any(n.subject == "policy:owners:data-eng:de1:de3" for n in plan.notices)
    assert pd_sync(pd_fake, edited)[0].changes == ()


def test_a_new_time_off_changes_that_persons_schedule_and_the_rotation_only(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    files["rotations/time_off.yaml"] += "  - person: ml1\n    start: 2026-12-08\n    end: 2026-12-09\n    reason: Dentist\n"
    later = org_from(files)
    plan, _ = pd_sync(pd_fake, later)
    assert ("update", "schedule", "schedule:person:ml1") in {(c.action, c.kind, c.key) for c in plan.changes}
    assert all(
        c.key.startswith(("override:schedule:mlops-oncall", "schedule:mlops-oncall", "schedule:person:ml1")) for c in plan.changes
    )
    # taking the time off back out deletes exactly the overrides opsctl made for it
    back, _ = pd_sync(pd_fake)
    assert {(c.action, c.kind) for c in back.changes} <= {("delete", "override"), ("update", "schedule"), ("create", "override")}
    assert pd_sync(pd_fake)[0].changes == ()


def test_unmanaged_objects_are_never_touched(pd_fake: PagerDutyFake) -> None:
    someone = next(iter(pd_fake.users))
    policy = pd_fake.add_policy("Data Platform on-call (platform)", someone, "made by hand")  # the name of opsctl's team policy
    other = {"id": "PSOTHER", "name": "Another team", "description": "", "time_zone": "UTC", "layers": []}
    pd_fake.schedules["PSOTHER"] = other
    before = copy.deepcopy((pd_fake.policies[policy["id"]], pd_fake.schedules["PSOTHER"]))
    plan, _ = pd_sync(pd_fake)
    assert (pd_fake.policies[policy["id"]], pd_fake.schedules["PSOTHER"]) == before
    assert not any(r.path.endswith((policy["id"], "PSOTHER")) for r in pd_fake.requests if r.is_write)
    notices = {n.subject: n for n in plan.notices}
    assert notices["policy:team:platform"].level == "drift"
    assert "opsctl:managed key=policy:team:platform" in notices["policy:team:platform"].message
    assert "service:team:platform" in notices  # its service cannot be made without the policy
    assert "PSOTHER" not in pd_fake.overrides


def test_a_name_taken_in_another_case_is_a_finding_and_everything_else_is_made(pd_fake: PagerDutyFake) -> None:
    """PagerDuty refuses a service named like another but for case ("Name has already been
    taken"): the plan says so with the fix, and the apply makes every other change."""
    someone = next(iter(pd_fake.users))
    theirs = pd_fake.add_policy("Somebody's policy", someone)
    pd_fake.add_service("AGGREGATE PROFIT FOR INVESTORS (aggregate_profit_investors)", theirs["id"], "made by hand")
    plan = pd_plan(pd_fake)
    [finding] = [n for n in plan.notices if n.subject == "service:pipeline:aggregate_profit_investors"]
    assert finding.level == "drift"
    assert (
        "whatever their case" in finding.message
        and "opsctl:managed key=service:pipeline:aggregate_profit_investors" in finding.message
    )
    assert not any(c.key == "service:pipeline:aggregate_profit_investors" for c in plan.changes)
    result = pagerduty.apply(pd_client(pd_fake), plan)
    assert result.complete and result.done == len(plan.changes)
    assert managed_counts(pd_fake)["services"] == 9
    again = pd_plan(pd_fake)
    assert again.changes == () and [n.subject for n in again.notices] == [finding.subject]


def test_a_manual_override_is_drift_and_stays(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    [schedule] = [s for s in pd_fake.schedules.values() if s["name"] == "MLOps on-call · primary"]
    manual = pd_fake.add_override(schedule["id"], NOW + timedelta(days=3), NOW + timedelta(days=3, hours=4), user(pd_fake, "ml1"))
    plan, writes = pd_sync(pd_fake)
    assert plan.changes == ()
    assert plan.drift
    [notice] = plan.notices
    assert notice.level == "drift" and "manual override ml1 from 2026-11-25T16:00-08:00" in notice.message
    assert writes == 0
    assert manual["id"] in pd_fake.overrides[schedule["id"]]


def test_a_429_without_retry_after_waits_for_ratelimit_reset(pd_fake: PagerDutyFake) -> None:
    """PagerDuty says when to try again in `ratelimit-reset`, not `Retry-After`."""
    headers = {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "42"}
    pd_fake.inject(Fault(429, lambda r: r.method == "POST" and r.path == "/escalation_policies", times=2, headers=headers))
    pd_sync(pd_fake)
    assert [s for s in pd_fake.clock.slept if s >= 1] == [42.0, 42.0]  # type: ignore[union-attr]
    assert [r.status for r in pd_fake.requests if r.path == "/escalation_policies" and r.method == "POST"][:3] == [429, 429, 201]
    assert pd_plan(pd_fake).changes == ()


def test_a_large_apply_is_paced_below_the_limit_with_no_429(pd_fake: PagerDutyFake) -> None:
    """960 requests a minute per key: with the limit lowered to 60, a first apply of the example
    (about 120 requests) must take two simulated minutes and meet no 429."""
    pd_fake.requests_per_minute = 60
    pd_sync(pd_fake)
    assert pd_fake.rate_limited == 0
    assert pd_fake.clock.monotonic() >= 60  # type: ignore[union-attr]
    assert pd_plan(pd_fake).changes == ()


def test_a_429_storm_is_waited_out_then_the_apply_finishes(pd_fake: PagerDutyFake) -> None:
    headers = {"ratelimit-remaining": "0", "ratelimit-reset": "30"}
    pd_fake.inject(Fault(429, lambda r: r.method == "POST", times=12, headers=headers))  # six minutes of 429s
    pd_sync(pd_fake)
    assert managed_counts(pd_fake) == {"schedules": 19, "policies": 10, "services": 10, "integrations": 10}
    assert pd_plan(pd_fake).changes == ()


def test_a_minutes_long_outage_is_waited_out(pd_fake: PagerDutyFake) -> None:
    clock = pd_fake.clock
    body = '{"error": {"message": "Service Unavailable", "code": 5000}}'
    pd_fake.inject(Fault(503, lambda r: 30 < clock.monotonic() < 300, times=10**6, body=body))
    pd_fake.requests_per_minute = 60  # so that the apply is still going at the first minute
    pd_sync(pd_fake)
    assert clock.monotonic() > 300
    assert pd_plan(pd_fake).changes == ()


def test_an_outage_longer_than_the_patience_stops_cleanly_and_the_next_run_finishes(pd_fake: PagerDutyFake) -> None:
    posts = [0]

    def after_the_tenth_post(request: Recorded) -> bool:
        if request.method == "POST":
            posts[0] += 1
        return posts[0] > 10

    pd_fake.inject(Fault(503, after_the_tenth_post, times=200, body='{"error": {"message": "Service Unavailable"}}'))
    plan = pd_plan(pd_fake)
    result = pagerduty.apply(pd_client(pd_fake, patience=120), plan)
    assert not result.complete and result.stopped
    problem = result.problem()
    assert problem.startswith("PagerDuty: ") and "changes made (10 writes); stopped: PagerDuty answered 503" in problem
    assert problem.endswith("the failure is transient: run the sync again to finish")
    pd_fake.faults.clear()
    pd_sync(pd_fake)
    assert managed_counts(pd_fake) == {"schedules": 19, "policies": 10, "services": 10, "integrations": 10}
    assert pd_plan(pd_fake).changes == ()


def test_a_create_answered_500_is_not_sent_again_and_the_next_run_finishes(pd_fake: PagerDutyFake) -> None:
    posts = [0]

    def third_service(request: Recorded) -> bool:
        if request.method == "POST" and request.path == "/services":
            posts[0] += 1
            return posts[0] == 3
        return False

    pd_fake.inject(Fault(500, third_service, body='{"error": {"message": "Internal Server Error", "code": 5000}}'))
    result = pagerduty.apply(pd_client(pd_fake), pd_plan(pd_fake))
    assert result.stopped.startswith(
        "PagerDuty answered 500 to POST /services: Internal Server Error; while trying to create service"
    )
    made = managed_counts(pd_fake)
    assert made["services"] == 2 and made["schedules"] == 19
    plan, _ = pd_sync(pd_fake)
    assert {c.kind for c in plan.changes} == {"service", "integration"}
    assert managed_counts(pd_fake) == {"schedules": 19, "policies": 10, "services": 10, "integrations": 10}
    assert pd_plan(pd_fake).changes == ()


def test_a_server_error_between_the_override_list_and_the_overrides_loses_nothing(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    files = example_files()
    files["rotations/time_off.yaml"] += "  - person: dp1\n    start: 2026-12-08\n    end: 2026-12-09\n    reason: Dentist\n"
    later = org_from(files)
    pd_fake.inject(Fault(500, lambda r: r.method == "POST" and r.path.endswith("/overrides")))
    assert pagerduty.apply(pd_client(pd_fake), pd_plan(pd_fake, later)).stopped
    # the schedule's marker already lists the overrides; the next run makes them and calls none of them manual
    plan, _ = pd_sync(pd_fake, later)
    assert not any(n.level == "drift" for n in plan.notices)
    primary = [c for c in plan.changes if c.key.startswith("override:schedule:platform-oncall:primary")]
    assert primary and {(c.action, c.kind) for c in primary} == {("create", "override")}
    final = pd_plan(pd_fake, later)
    assert final.changes == () and not final.drift


def test_a_person_without_a_pagerduty_user_is_reported(pd_fake: PagerDutyFake) -> None:
    del pd_fake.users[user(pd_fake, "ml2")]
    plan, _ = pd_sync(pd_fake)
    warnings = [n for n in plan.notices if n.level == "warning"]
    assert [n.subject for n in warnings] == ["person ml2"]
    assert "is not in PagerDuty (no user has that email)" in warnings[0].message
    blocked = {n.subject for n in plan.notices if n.level == "drift"}
    assert "schedule:mlops-oncall:primary" in blocked
    # everything else was made
    assert managed_counts(pd_fake)["schedules"] == 19 - 2  # both MLOps rotation schedules


def test_services_per_team(pd_fake: PagerDutyFake) -> None:
    org = with_settings(EXAMPLE, service_per="team")
    plan, _ = pd_sync(pd_fake, org)
    # the rotations, and the leads' schedules (the last level of each team policy)
    assert managed_counts(pd_fake) == {"schedules": 10 + 5, "policies": 5, "services": 5, "integrations": 5}
    assert not any("owners" in c.key for c in plan.changes)


@pytest.mark.parametrize(
    "later",
    [timedelta(hours=12), timedelta(days=33, hours=7, minutes=41), timedelta(days=125, hours=1, minutes=30)],
    ids=["monday-noon", "christmas-week", "dst-weekend"],
)
def test_a_second_apply_writes_nothing_at_any_instant(pd_fake: PagerDutyFake, later: timedelta) -> None:
    """Overrides reach past the horizon, begin before now, are cut by DST; PagerDuty cuts what
    it lists at `since`/`until` unless asked for `overflow=true`. Whatever the instant, what
    the first apply made is what the second plan wants."""
    now = NOW + later
    desired = desired_for(EXAMPLE, now)
    straddling = [o for s in desired.schedules for o in s.overrides if o.start < now or o.end > desired.until]
    assert straddling, "the instant should have overrides in progress or past the horizon"
    pd_sync(pd_fake, now=now)
    pd_fake.reset_counts()
    plan, writes = pd_sync(pd_fake, now=now)
    assert plan.changes == () and not plan.drift
    assert writes == pd_fake.writes() == 0
    # and a run a few minutes later changes nothing either (the ongoing overrides still match)
    assert pd_plan(pd_fake, now=now + timedelta(minutes=7)).changes == ()


def test_a_create_whose_answer_is_lost_is_found_again_not_made_twice(pd_fake: PagerDutyFake) -> None:
    # PagerDuty made the policy, then answered 502: it is not sent again; the next run finds it by its marker
    pd_fake.fail_after.append(Fault(502, lambda r: r.method == "POST" and r.path == "/escalation_policies", body='{"error": {}}'))
    result = pagerduty.apply(pd_client(pd_fake), pd_plan(pd_fake))
    assert result.stopped.startswith("PagerDuty answered 502 to POST /escalation_policies")
    [made] = [read_marker(p["description"]) for p in pd_fake.policies.values()]
    assert made is not None
    plan, _ = pd_sync(pd_fake)
    assert [c.action for c in plan.changes if c.key == made.key] == []
    assert made.key in plan.in_sync
    assert managed_counts(pd_fake) == {"schedules": 19, "policies": 10, "services": 10, "integrations": 10}
    assert len({p["name"] for p in pd_fake.policies.values()}) == 10
    assert pd_plan(pd_fake).changes == ()


def test_a_name_taken_is_fixed_by_the_naming_settings(pd_fake: PagerDutyFake) -> None:
    """The finding names the setting; with it changed, the apply makes the service under the
    new name, beside the object opsctl does not manage, and a second apply writes nothing."""
    someone = next(iter(pd_fake.users))
    theirs = pd_fake.add_service(
        "Aggregate profit for investors (aggregate_profit_investors)", pd_fake.add_policy("P", someone)["id"]
    )
    plan = pd_plan(pd_fake)
    [finding] = [n for n in plan.notices if n.subject == "service:pipeline:aggregate_profit_investors"]
    assert (
        "set settings.pagerduty.service_name (now '{pipeline_name} ({pipeline})') or settings.pagerduty.name_prefix (now '')"
        " in ownership.yaml" in finding.message
    )
    renamed = with_settings(EXAMPLE, service_name="{pipeline_name} · {tier} ({pipeline})")
    plan, writes = pd_sync(pd_fake, renamed)
    assert not any(n.subject == "service:pipeline:aggregate_profit_investors" for n in plan.notices)
    [made] = [s for s in pd_fake.services.values() if s["name"].endswith("(aggregate_profit_investors)") and s is not theirs]
    assert made["name"] == "Aggregate Profit for Investors · investor-facing (aggregate_profit_investors)"
    assert read_marker(made["description"]).key == "service:pipeline:aggregate_profit_investors"  # type: ignore[union-attr]
    assert theirs["name"] == "Aggregate profit for investors (aggregate_profit_investors)" and theirs["description"] == ""
    pd_fake.reset_counts()
    again, writes = pd_sync(pd_fake, renamed)
    assert again.changes == () and writes == 0 and pd_fake.writes() == 0
    assert not [n for n in again.notices if n.level == "drift"]


def test_a_prefix_renames_every_object_opsctl_made_and_then_nothing(pd_fake: PagerDutyFake) -> None:
    applied_example(pd_fake)
    counts = managed_counts(pd_fake)
    prefixed = with_settings(EXAMPLE, name_prefix="Data · ")
    plan, _ = pd_sync(pd_fake, prefixed)
    assert {(c.action, c.kind) for c in plan.changes} >= {("update", "schedule"), ("update", "escalation policy")}
    assert all(c.action == "update" and "name" in {f.name for f in c.fields} for c in plan.changes if c.kind != "override")
    managed = [o for table in (pd_fake.schedules, pd_fake.policies, pd_fake.services) for o in table.values()]
    assert all(o["name"].startswith("Data · ") for o in managed if read_marker(o["description"]))
    assert managed_counts(pd_fake) == counts  # renamed, not made again
    pd_fake.reset_counts()
    again, writes = pd_sync(pd_fake, prefixed)
    assert again.changes == () and writes == 0 and pd_fake.writes() == 0


def test_a_policy_name_taken_points_at_the_prefix(pd_fake: PagerDutyFake) -> None:
    someone = next(iter(pd_fake.users))
    pd_fake.add_policy("data platform ON-CALL (platform)", someone)
    plan = pd_plan(pd_fake)
    [finding] = [n for n in plan.notices if n.subject == "policy:team:platform"]
    assert finding.message.endswith(
        "or, to give opsctl's escalation policy another name, set settings.pagerduty.name_prefix (now '') in ownership.yaml"
    )
    plan, _ = pd_sync(pd_fake, with_settings(EXAMPLE, name_prefix="opsctl: "))
    assert not [n for n in plan.notices if n.level == "drift"]
    assert any(p["name"] == "opsctl: Data Platform on-call (platform)" for p in pd_fake.policies.values())
