"""The pacing budget shared by sync and the alert router: pure, so stepped by hand."""

from __future__ import annotations

import pytest

from opsctl.vendors.pacing import Budget


def test_a_burst_goes_at_once_then_requests_are_spaced_by_the_rate() -> None:
    budget = Budget(rate=2.0, capacity=3)
    assert [budget.wait(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.wait(100.0) == pytest.approx(0.5)
    assert budget.wait(100.0) == pytest.approx(1.0)  # the second waiter queues behind the first
    assert budget.wait(101.0) == pytest.approx(0.5)


def test_a_quiet_spell_refills_the_bucket_up_to_its_capacity() -> None:
    budget = Budget.per_minute(960)  # PagerDuty's REST budget per token: 16 a second, bursts of 96
    assert budget.capacity == 96
    for _ in range(96):
        assert budget.wait(0.0) == 0.0
    assert budget.wait(0.0) == pytest.approx(1 / 16)
    assert budget.wait(3600.0) == 0.0
    assert budget._tokens == pytest.approx(95)  # refilled to 96, never beyond, then one taken


def test_the_services_own_count_and_retry_after_tighten_the_budget() -> None:
    budget = Budget(rate=10.0, capacity=10)
    budget.observe(0.0, remaining=2, reset_in=30.0)
    assert budget.wait(0.0) == 0.0 and budget.wait(0.0) == 0.0
    assert budget.wait(0.0) == pytest.approx(0.1)
    budget.observe(1.0, remaining=0, reset_in=30.0)  # nothing left in this window: wait it out
    assert budget.wait(1.0) == pytest.approx(30.0)
    budget.hold(40.0, 5.0)  # a Retry-After of 5 s
    assert budget.wait(40.0) == pytest.approx(5.0)
    assert budget.wait(46.0) == 0.0


def test_a_budget_needs_a_rate_and_room_for_one_request() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        Budget(rate=0, capacity=1)
    with pytest.raises(ValueError, match="at least one request"):
        Budget(rate=1, capacity=0.5)
