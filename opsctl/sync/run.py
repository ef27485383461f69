"""One way to sync any target: :func:`run_sync`, over the :class:`Adapter` protocol.

Every target (PagerDuty, Slack) is an adapter: it knows its desired state, reads what the
service holds (:meth:`Adapter.fetch_actual`), compares them in a pure
:meth:`Adapter.diff`, and makes the plan's changes (:meth:`Adapter.apply`). Without a
token the adapter plans against :meth:`Adapter.offline_actual` instead, an empty account
in which everybody exists, and nothing is read: an offline preview of what opsctl would
make. The command line calls :func:`run_sync` once and renders what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from opsctl.errors import OpsctlError, ProblemsFound, ServiceError, UsageError
from opsctl.sync.apply import ApplyResult
from opsctl.sync.plan import Notice, Plan
from opsctl.sync.progress import QUIET, Progress

if TYPE_CHECKING:
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.model import Org
    from opsctl.vendors.pacing import Clock, Pacer, PacerStats

Target = Literal["pagerduty", "slack"]


class Adapter(Protocol):
    """A sync target: desired state in, plan out, plan applied."""

    target: str

    def fetch_actual(self, progress: Progress) -> Any:
        """What the service holds: the only reads."""

    def offline_actual(self) -> Any:
        """An empty account in which everybody exists, for the offline preview."""

    def diff(self, actual: Any) -> Plan:
        """The plan that brings ``actual`` to the desired state. Pure."""

    def apply(self, plan: Plan, progress: Progress) -> ApplyResult:
        """Make the plan's changes: the only writes."""

    def finish(self, plan: Plan, result: ApplyResult | None) -> list[Notice]:
        """What to do and say once the plan is applied (or not), e.g. write the routing keys file."""


@dataclass
class SyncOutcome:
    plan: Plan
    applied: ApplyResult | None
    offline: bool
    notices: list[Notice] = field(default_factory=list)
    stats: PacerStats | None = None

    def problem(self, *, check: bool) -> OpsctlError | None:
        """What the command should exit with: a failed apply (1), drift under ``--check`` (1), or None."""
        if self.applied is not None and not self.applied.complete:
            return ServiceError(self.applied.problem())
        if check and self.plan.drift:
            return ProblemsFound("")
        return None


@dataclass
class PagerDutyAdapter:
    desired: Any
    client: Any
    routing_keys_out: Path | None = None
    target: str = "PagerDuty"

    def fetch_actual(self, progress: Progress) -> Any:
        from opsctl.sync.pagerduty import fetch_actual

        return fetch_actual(self.client, since=self.desired.as_of, until=self.desired.until, progress=progress)

    def offline_actual(self) -> Any:
        from opsctl.sync.pagerduty import offline_actual

        return offline_actual(self.desired)

    def diff(self, actual: Any) -> Plan:
        from opsctl.sync.pagerduty import diff

        self._actual = actual
        return diff(self.desired, actual)

    def apply(self, plan: Plan, progress: Progress) -> ApplyResult:
        from opsctl.sync.pagerduty import apply

        return apply(self.client, plan, progress=progress)

    def finish(self, plan: Plan, result: ApplyResult | None) -> list[Notice]:
        if self.routing_keys_out is None or self.client is None:
            return []
        from opsctl.sync.pagerduty import fetch_services
        from opsctl.sync.pagerduty_keys import routing_keys, routing_keys_of
        from opsctl.vendors.routing_keys import write_routing_keys

        # after writes, read the services again: the integrations just made carry the new keys
        services = fetch_services(self.client) if result is not None and result.writes else self._actual.services
        found, notices = routing_keys(self.desired, routing_keys_of(self.client, services))
        write_routing_keys(self.routing_keys_out, found)
        path = self.routing_keys_out
        notices.append(
            Notice("info", "routing keys", f"wrote {path} ({len(found.pipelines)} pipelines, {len(found.teams)} teams)")
        )
        return notices


@dataclass
class SlackAdapter:
    desired: Any
    client: Any
    target: str = "Slack"

    def fetch_actual(self, progress: Progress) -> Any:
        from opsctl.sync.slack import fetch_actual

        return fetch_actual(self.client, self.desired, progress=progress)

    def offline_actual(self) -> Any:
        from opsctl.sync.slack import offline_actual

        return offline_actual(self.desired)

    def diff(self, actual: Any) -> Plan:
        from opsctl.sync.slack import diff

        return diff(self.desired, actual)

    def apply(self, plan: Plan, progress: Progress) -> ApplyResult:
        from opsctl.sync.slack import apply

        return apply(self.client, plan, progress=progress)

    def finish(self, plan: Plan, result: ApplyResult | None) -> list[Notice]:
        return []


TOKENS = {"pagerduty": "PAGERDUTY_TOKEN", "slack": "SLACK_BOT_TOKEN"}


def make_adapter(
    target: Target,
    org: Org,
    engine: Engine,
    now: datetime,
    env: Mapping[str, str],
    *,
    pacer: Pacer | None,
    routing_keys_out: Path | None = None,
) -> tuple[Adapter, bool]:
    """The adapter for ``target`` with its client (built here, from the environment), and
    whether it is offline (no token: plan against an empty account, read nothing)."""
    from opsctl.vendors.config import VendorConfig

    config = VendorConfig.from_env(env)
    if target == "pagerduty":
        from opsctl.sync.pagerduty_desired import desired_pagerduty
        from opsctl.vendors.pagerduty_api import rest_client

        offline = not config.pagerduty_token
        rest = None if offline else rest_client(config, pacer=pacer)
        return PagerDutyAdapter(desired_pagerduty(org, engine, now), rest, routing_keys_out), offline
    from opsctl.sync.slack import desired_slack
    from opsctl.vendors.slack_api import slack_client

    offline = not config.slack_token
    web = None if offline else slack_client(config, pacer=pacer)
    return SlackAdapter(desired_slack(org, engine, now), web), offline


def run_sync(
    target: Target,
    org: Org,
    engine: Engine,
    now: datetime,
    env: Mapping[str, str],
    *,
    apply: bool = False,
    check: bool = False,
    progress: Progress = QUIET,
    on_plan: Callable[[Plan, bool], None] | None = None,
    routing_keys_out: Path | None = None,
    clock: Clock | None = None,
) -> SyncOutcome:
    """Plan ``target`` as of ``now`` and, with ``apply``, make the plan's changes.

    ``on_plan(plan, offline)`` is told the plan before any write, so it is shown even if the
    apply fails. Without the target's token the plan is an offline preview (no network);
    ``apply``, ``check`` and ``routing_keys_out`` need the token. Vendor failures come back
    redacted of every token; a failed apply is in the outcome, not raised.
    """
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.errors import translated
    from opsctl.vendors.pagerduty_api import rest_pacer
    from opsctl.vendors.slack_api import slack_pacer

    if check and apply:
        raise UsageError("give --check or --apply, not both")

    def waiting(seconds: float, why: str) -> None:
        progress.waiting(seconds, why)

    pacer = (rest_pacer if target == "pagerduty" else slack_pacer)(clock, on_wait=waiting)
    config = VendorConfig.from_env(env)
    with translated(config):
        adapter, offline = make_adapter(target, org, engine, now, env, pacer=pacer, routing_keys_out=routing_keys_out)
        if offline and (apply or check or routing_keys_out is not None):
            token = TOKENS[target]
            what = "--apply" if apply else "--check" if check else "--routing-keys-out"
            raise UsageError(f"{token} is not set: {what} needs it (without it, the command prints an offline preview)")
        actual = adapter.offline_actual() if offline else adapter.fetch_actual(progress)
        plan = adapter.diff(actual)
        if offline:
            plan = _offline(plan, TOKENS[target])
        if on_plan is not None:
            on_plan(plan, offline)
        result = adapter.apply(plan, progress) if apply and plan.changes else None
        if apply and result is None:
            result = ApplyResult(adapter.target, 0)
        notices = adapter.finish(plan, result)
    return SyncOutcome(plan, result, offline, notices, None if offline else pacer.stats)


def _offline(plan: Plan, token: str) -> Plan:
    from dataclasses import replace

    scope = f"offline preview ({token} is not set: nothing read, everything opsctl would make)"
    return replace(plan, scope=scope + (f"; {plan.scope}" if plan.scope else ""))
