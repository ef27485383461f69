"""Tokens and API addresses, from the environment only; tokens never printed.

=============================  ===============================================
``PAGERDUTY_TOKEN``            REST API v2 token (sync, doctor)
``SLACK_BOT_TOKEN``            Slack bot token (sync, notify, alert delivery)
``OPSCTL_PAGERDUTY_API_URL``   REST API base (default https://api.pagerduty.com)
``OPSCTL_PAGERDUTY_EVENTS_URL`` Events API v2 base (default https://events.pagerduty.com)
``OPSCTL_SLACK_API_URL``       Slack Web API base (default https://slack.com/api/)
=============================  ===============================================

The base URLs exist for proxies and tests. Plain ``http://`` is accepted only for loopback
hosts, so a token is never sent in clear over a network.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opsctl.errors import UsageError

PAGERDUTY_API_URL = "https://api.pagerduty.com"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"
SLACK_API_URL = "https://slack.com/api/"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(name: str, url: str) -> str:
    """``url`` if it is https, or http on a loopback host; else :class:`UsageError` naming ``name``."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return url
    raise UsageError(f"{name}: {url!r} must be an https:// URL (plain http is allowed only for loopback addresses)")


@dataclass(frozen=True)
class VendorConfig:
    """What the environment says about remote services. ``repr`` never shows a token."""

    pagerduty_token: str | None = field(default=None, repr=False)
    slack_token: str | None = field(default=None, repr=False)
    pagerduty_api_url: str = PAGERDUTY_API_URL
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL
    slack_api_url: str = SLACK_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> VendorConfig:
        return cls(
            pagerduty_token=env.get("PAGERDUTY_TOKEN") or None,
            slack_token=env.get("SLACK_BOT_TOKEN") or None,
            pagerduty_api_url=check_base_url(
                "OPSCTL_PAGERDUTY_API_URL", env.get("OPSCTL_PAGERDUTY_API_URL") or PAGERDUTY_API_URL
            ),
            pagerduty_events_url=check_base_url(
                "OPSCTL_PAGERDUTY_EVENTS_URL", env.get("OPSCTL_PAGERDUTY_EVENTS_URL") or PAGERDUTY_EVENTS_URL
            ),
            slack_api_url=check_base_url("OPSCTL_SLACK_API_URL", env.get("OPSCTL_SLACK_API_URL") or SLACK_API_URL),
        )

    def secrets(self) -> list[str]:
        return [s for s in (self.pagerduty_token, self.slack_token) if s]

    def redact(self, text: str) -> str:
        """``text`` with every token replaced, for error messages and logs."""
        return redact(text, self.secrets())


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
