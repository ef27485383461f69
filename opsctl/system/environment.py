"""Every environment variable opsctl reads, and the one place that reads the environment.

The edges (the command line, ``opsctl serve``) take :func:`current` once and hand the
mapping down; everything below receives it as an argument, so tests pass their own.

=================================  ===================================================
``OPSCTL_ROOT``                     the ops repository (else the current directory)
``OPSCTL_CACHE_DIR``                cache folder (else ``$XDG_CACHE_HOME/opsctl``, else
                                    ``~/.cache/opsctl``): holidays, answers, templates
``OPSCTL_DEBUG``                    ``1``: show the traceback of an internal error
``PAGERDUTY_TOKEN``                 PagerDuty REST API v2 token (sync, doctor)
``SLACK_BOT_TOKEN``                 Slack bot token (sync, notify, doctor, alert delivery)
``OPSCTL_PAGERDUTY_API_URL``        PagerDuty REST API base URL
``OPSCTL_PAGERDUTY_EVENTS_URL``     PagerDuty Events API v2 base URL
``OPSCTL_SLACK_API_URL``            Slack Web API base URL
``OPSCTL_ROUTER_DB``                the alert router's database
``OPSCTL_ROUTING_KEYS_FILE``        PagerDuty routing keys for the alert router
``OPSCTL_ROUTER_MAX_BODY``          the alert router's body size cap, bytes
``OPSCTL_WEBHOOK_TOKEN[_<SOURCE>]`` bearer tokens of alert sources
``OPSCTL_DBT_WEBHOOK_SECRET``       dbt Cloud webhook secret
``OPSCTL_GRAFANA_WEBHOOK_SECRET``   Grafana HMAC secret
=================================  ===================================================

Kept to the standard library and without ``typing``: the whoisoncall answer cache
(:mod:`opsctl.cli.answer_cache`) reads its folder through it before anything else loads.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

TYPE_CHECKING = False  # `typing` costs milliseconds the answer cache does not have
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import tzinfo


def current() -> Mapping[str, str]:
    """The process environment: called by the edges only, once."""
    return os.environ


def cache_folder(env: Mapping[str, str]) -> str:
    """``$OPSCTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/opsctl``, else ``~/.cache/opsctl``."""
    explicit = env.get("OPSCTL_CACHE_DIR")
    if explicit:
        return explicit
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "opsctl")


def debug(env: Mapping[str, str]) -> bool:
    """Whether internal errors show their traceback (``OPSCTL_DEBUG``)."""
    return bool(env.get("OPSCTL_DEBUG"))


def local_zone() -> tzinfo:
    """The machine's zone (``$TZ`` or the system's), as the edge of the program sees it."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC
