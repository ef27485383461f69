"""Sync the org to PagerDuty and Slack (SPEC §7): plan, then apply.

Every adapter has the same shape:

- ``desired_*(org, engine, now, ...)``: what the repository says, pure;
- ``fetch_actual(client, ...)``: what the service holds, the only reads;
- ``diff(desired, actual) -> Plan``: pure and deterministic, so tests assert it exactly;
- ``apply(client, plan)``: the only writes, each change in dependency order.

Objects opsctl creates carry a marker (:mod:`.marker`); anything without it is never
edited or deleted, only reported. Clients come in from :mod:`opsctl.vendors`; the vendor
libraries are imported only when a command that needs them runs.

Modules: :mod:`.plan` (plan values and their text and JSON), :mod:`.marker`,
:mod:`.timeline` (schedule timelines to PagerDuty overrides), :mod:`.pagerduty_desired`,
:mod:`.pagerduty`, :mod:`.routing_keys`, :mod:`.slack`, :mod:`.handoff`, :mod:`.doctor`,
:mod:`.progress`.
"""
