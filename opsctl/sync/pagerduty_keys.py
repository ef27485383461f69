"""The routing keys of the managed PagerDuty services, for the alert router.

The file's format, reader and writer are :mod:`opsctl.vendors.routing_keys`.
``pipelines`` is filled when services are per pipeline (``settings.pagerduty.service_per``)
and empty otherwise; ``teams`` maps every team with a service to its team service (the
on-call chain), which is where alerts that match no pipeline go. The keys are read from
the Events API v2 integrations of the managed services, so the file can be written with
or without ``--apply``. The router reads the file named by ``OPSCTL_ROUTING_KEYS_FILE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from opsctl.sync.marker import read_marker
from opsctl.sync.pagerduty_actual import RemoteService, opsctl_integration
from opsctl.sync.pagerduty_desired import PagerDutyDesired
from opsctl.sync.plan import Notice
from opsctl.vendors.routing_keys import RoutingKeys

if TYPE_CHECKING:
    from pagerduty import RestApiV2Client


def routing_keys_of(client: RestApiV2Client, services: Iterable[RemoteService]) -> dict[str, str]:
    """Managed service key → the routing key of its opsctl integration.

    PagerDuty includes the key when services are listed with their integrations; where it
    does not, the integration is read on its own.
    """
    out: dict[str, str] = {}
    for service in services:
        marker = read_marker(service.description)
        integration = opsctl_integration(service) if marker else None
        if marker is None or integration is None:
            continue
        key = integration.key
        if not key:
            full = client.rget(f"/services/{service.id}/integrations/{integration.id}")
            key = full.get("integration_key") if isinstance(full, dict) else None
        if key:
            out[marker.key] = str(key)
    return out


def routing_keys(desired: PagerDutyDesired, keys: dict[str, str]) -> tuple[RoutingKeys, list[Notice]]:
    """The routing keys for ``desired``, and a notice per pipeline or team with no key yet."""
    notices: list[Notice] = []
    pipelines: dict[str, str] = {}
    teams: dict[str, str] = {}
    for table, wanted, what in ((pipelines, desired.pipeline_services, "pipeline"), (teams, desired.team_services, "team")):
        for owner, service in sorted(wanted.items()):
            if service in keys:
                table[owner] = keys[service]
            else:
                notices.append(
                    Notice(
                        "warning",
                        f"{what} {owner}",
                        f"no routing key yet: its service {service} has no opsctl integration (run --apply)",
                    )
                )
    return RoutingKeys(pipelines, teams), notices
