"""The seam to remote services: configuration from the environment and client factories.

Everything that talks to PagerDuty or Slack builds its client here, from a
:class:`~opsctl.vendors.config.VendorConfig` read at the edge; adapters receive clients
and never construct them deep inside logic. Heavy client libraries are imported only by
the factory functions.
"""
