"""Writing the routing keys file: how the alert router finds the PagerDuty service to page.

``opsctl sync pagerduty --routing-keys-out PATH`` writes, with file mode 0600 (a routing
key lets anyone who holds it open incidents)::

    {"version": 1,
     "pipelines": {"<pipeline id>": "<routing key>", ...},
     "teams": {"<team id>": "<routing key>", ...}}

``pipelines`` is filled when services are per pipeline (``settings.pagerduty.service_per``)
and empty otherwise; ``teams`` maps every team with a service to its team service (the
on-call chain), which is where alerts that match no pipeline go. The keys are read from
the Events API v2 integrations of the managed services, so the file can be written with
or without ``--apply``. The router reads the file named by ``OPSCTL_ROUTING_KEYS_FILE``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.errors import UsageError
from opsctl.router.routing_keys import VERSION
from opsctl.sync.marker import read_marker
from opsctl.sync.pagerduty_actual import RemoteService, opsctl_integration
from opsctl.sync.pagerduty_desired import PagerDutyDesired
from opsctl.sync.plan import Notice

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


def routing_keys(desired: PagerDutyDesired, keys: dict[str, str]) -> tuple[dict[str, Any], list[Notice]]:
    """The file's content for ``desired``, and a notice per pipeline or team with no key yet."""
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
    return {"version": VERSION, "pipelines": pipelines, "teams": teams}, notices


def write_routing_keys(path: Path, content: dict[str, Any]) -> None:
    """Write ``content`` to ``path`` atomically, readable by its owner only (0600) from the first byte."""
    path = path.expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(f"--routing-keys-out: cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
