"""Prometheus Alertmanager webhooks (version 4) and Grafana alerting's variant of them.

Each entry of ``alerts`` is one alert. Its ``fingerprint`` (Grafana and Alertmanager both
send one; else a hash of the labels) identifies the failure, so the resolved notification
closes what the firing one opened; ``startsAt`` tells one firing period from the next, so
Alertmanager's repeat notifications of the same firing alert are recognised as duplicates.
"""

from __future__ import annotations

from typing import Any

from opsctl.router.alert import Alert, Identifiers, Link, Parsed, digest
from opsctl.router.errors import BadPayload
from opsctl.router.sources import Source
from opsctl.router.sources.json_schema import OPTIONAL, OPTIONAL_MAP, STRING_MAP, enum, optional
from opsctl.router.sources.shape import array, choice, obj, string_map, text

STATUSES = ("firing", "resolved")
_LINK_FIELDS = (("generatorURL", "Source"), ("dashboardURL", "Dashboard"), ("panelURL", "Panel"), ("silenceURL", "Silence"))


def parse(data: Any, source: str = "alertmanager") -> Parsed:
    body = obj(data, "the body")
    version = body.get("version")
    if source == "alertmanager" and version not in (None, "4"):
        raise BadPayload(f'version must be "4" (the Alertmanager webhook format opsctl reads), not {version!r}')
    choice(body, "status", "body", STATUSES)
    common = string_map(body, "commonLabels", "body")
    receiver = text(body, "receiver", "body")
    entries = array(body, "alerts", "body", required=True)
    alerts = []
    for index, entry in enumerate(entries):
        where = f"alerts[{index}]"
        item = obj(entry, where)
        labels = {**common, **string_map(item, "labels", where, required=True)}
        annotations = string_map(item, "annotations", where)
        status = choice(item, "status", where, STATUSES)
        if status is None:
            raise BadPayload(f"{where}.status is required (firing or resolved)")
        fingerprint = text(item, "fingerprint", where) or digest(sorted(labels.items()))
        starts = text(item, "startsAt", where)
        name = labels.get("alertname", "")
        said = annotations.get("summary") or annotations.get("description") or annotations.get("message") or ""
        summary = f"{name}: {said}" if name and said else (name or said or f"{source} alert {fingerprint}")
        links = [Link(url, label) for key, label in _LINK_FIELDS if (url := text(item, key, where))]
        names = tuple(value for key in ("pipeline", "service") if (value := labels.get(key)))
        alerts.append(
            Alert(
                source=source,
                status="resolved" if status == "resolved" else "firing",
                summary=summary,
                event_key=digest(source, status, fingerprint, starts),
                failure_key=f"{source}:{fingerprint}",
                ids=Identifiers(labels=labels, dag_id=labels.get("dag_id"), names=names, team=labels.get("team")),
                severity=labels.get("severity"),
                occurred_at=starts,
                links=tuple(links),
                details={"labels": labels, "annotations": annotations, "receiver": receiver, "startsAt": starts},
            )
        )
    if not alerts:
        return Parsed(ignored="the notification holds no alerts")
    return Parsed(tuple(alerts))


def body_schema(version: dict[str, Any] | None) -> dict[str, Any]:
    """The webhook body; Alertmanager's carries ``version``, Grafana's does not."""
    properties: dict[str, Any] = {
        "status": enum("firing", "resolved"),
        "receiver": OPTIONAL,
        "commonLabels": OPTIONAL_MAP,
        "alerts": {
            "type": "array",
            "maxItems": 1000,
            "items": {
                "type": "object",
                "required": ["labels", "status"],
                "properties": {
                    "status": {"enum": ["firing", "resolved"]},
                    "labels": STRING_MAP,
                    "annotations": OPTIONAL_MAP,
                    **optional("startsAt", "fingerprint", "generatorURL", "dashboardURL", "panelURL", "silenceURL"),
                },
            },
        },
    }
    if version is not None:
        properties["version"] = version
    return {"type": "object", "required": ["alerts"], "properties": properties}


SOURCE = Source(
    name="alertmanager",
    title="Prometheus Alertmanager",
    order=10,
    parse=parse,
    body_schema=body_schema({"enum": ["4", None]}),
    docs="Prometheus Alertmanager",
    looks_like=lambda data: isinstance(data, dict) and isinstance(data.get("alerts"), list) and "orgId" not in data,
)
