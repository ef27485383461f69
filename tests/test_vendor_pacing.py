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


class Ticking:
    """A clock for the pacer: sleeping moves it on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_pacer_spaces_requests_by_the_budget_and_tells_of_long_waits() -> None:
    from opsctl.vendors.pacing import Pacer

    clock = Ticking()
    told: list[tuple[float, str]] = []
    pacer = Pacer({"rest": Budget(rate=1.0, capacity=2)}, clock=clock, on_wait=lambda s, why: told.append((s, why)))
    for _ in range(4):
        pacer.before("rest")
    assert clock.slept == [pytest.approx(1.0), pytest.approx(1.0)]
    assert pacer.stats.requests == 4 and pacer.stats.waited == pytest.approx(2.0)
    assert told == [(pytest.approx(1.0), "pacing"), (pytest.approx(1.0), "pacing")]


def test_a_pacer_waits_as_told_after_a_429_and_holds_the_whole_budget() -> None:
    from opsctl.vendors.pacing import Pacer

    clock = Ticking()
    pacer = Pacer({"rest": Budget(rate=100.0, capacity=100)}, clock=clock)
    start = pacer.before("rest")
    assert pacer.retry_wait("rest", failures=1, first_failure=start, rate_limited=True, told=30.0)
    assert clock.now == pytest.approx(30.0) and pacer.stats.rate_limited == 1
    # the service's own count: nothing left for 12 s
    pacer.after_response("rest", remaining=0, reset_in=12)
    pacer.before("rest")
    assert clock.now == pytest.approx(42.0)


def test_a_pacer_gives_up_when_failures_outlast_its_patience() -> None:
    from opsctl.vendors.pacing import Pacer
    from opsctl.vendors.retry import RetryPolicy

    clock = Ticking()
    pacer = Pacer({}, retry=RetryPolicy(base=10.0, cap=60.0), patience=100.0, clock=clock, rng=__import__("random").Random(1))
    first = pacer.before("x")
    failures = 0
    while pacer.retry_wait("x", failures=failures + 1, first_failure=first, rate_limited=False, told=None):
        failures += 1
    assert clock.now <= 100.0 < clock.now + 60.0
    assert failures >= 2 and pacer.stats.failures == failures + 1
