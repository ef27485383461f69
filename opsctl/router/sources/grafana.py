"""Grafana alerting: Alertmanager's webhook body without ``version``, signed with HMAC.

Grafana's webhook contact point sends the same alerts as Alertmanager (with ``orgId``
beside them); a contact point with an HMAC secret signs ``<timestamp>:<body>``.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Parsed
from opsctl.router.sources import Signature, Source, alertmanager


def parse(data: Any) -> Parsed:
    return alertmanager.parse(data, "grafana")


SOURCE = Source(
    name="grafana",
    title="Grafana alerting",
    order=20,
    parse=parse,
    body_schema=alertmanager.body_schema(None),
    docs="Grafana alerting",
    signature=Signature("timestamp-hmac", "OPSCTL_GRAFANA_WEBHOOK_SECRET", token_too=True),
    looks_like=lambda data: isinstance(data, dict) and isinstance(data.get("alerts"), list) and "orgId" in data,
)
