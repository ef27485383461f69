"""Sync the org to PagerDuty and Slack: plan, then apply.

Every target is an adapter (:class:`opsctl.sync.run.Adapter`) with the same shape:

- the desired state, ``desired_*(org, engine, now)``: what the repository says, pure;
- ``fetch_actual(client, ...)``: what the service holds, the only reads;
- ``diff(desired, actual) -> Plan``: pure and deterministic, so tests assert it exactly;
  what the service would refuse on every run is a finding of the plan, with its fix;
- ``apply(client, plan)``: the only writes, in dependency order (:mod:`.apply`).

:func:`opsctl.sync.run.run_sync` runs any target the same way, and plans offline (an empty
account in which everybody exists, nothing read) when the token is missing. Objects opsctl
creates carry a marker (:mod:`.marker`); anything without it is never edited or deleted,
only reported. Clients come in from :mod:`opsctl.vendors`, paced there; the vendor
libraries are imported only when a command that needs them runs.

Modules: :mod:`.run` (the adapter protocol and run_sync), :mod:`.plan` (plan values and
their text and JSON), :mod:`.apply`, :mod:`.marker`, :mod:`.pagerduty_desired`,
:mod:`.pagerduty_overrides` (schedule timelines to PagerDuty overrides),
:mod:`.pagerduty_actual`, :mod:`.pagerduty`, :mod:`.pagerduty_keys` (routing keys for the
router), :mod:`.slack`, :mod:`.handoff`, :mod:`.doctor`, :mod:`.progress`. The design of
what PagerDuty holds is in docs/sync.md.
"""
