"""How ``opsctl serve`` is configured: options first, then the environment.

==============================  =============================================================
``OPSCTL_ROUTER_DB``             the alert database: a SQLite file (default
                                 ``opsctl-router.sqlite3`` in the ops repository; ``*.sqlite3``
                                 is git-ignored) or a ``postgresql://`` URL (several replicas)
``OPSCTL_ROUTING_KEYS_FILE``     PagerDuty routing keys (see :mod:`opsctl.vendors.routing_keys`)
``OPSCTL_ROUTER_MAX_BODY``       body size cap in bytes (default 1 MiB)
``OPSCTL_ROUTER_REFRESH``        at most one trigger per open failure this often (default 1h)
``OPSCTL_ROUTER_GROUP_WINDOW``   failures sharing a data source within it page once (default
                                 10m; ``0`` turns grouping off)
tokens and secrets               see :mod:`.security`
vendor addresses and Slack token see :mod:`opsctl.vendors.config`
==============================  =============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from opsctl.errors import UsageError
from opsctl.router.heartbeat import HEARTBEAT
from opsctl.router.http import DEFAULT_READ_TIMEOUT
from opsctl.router.routing import DEFAULT_GROUP_WINDOW, DEFAULT_REFRESH, RoutingPolicy
from opsctl.router.security import Credentials
from opsctl.router.sources import RECORDS
from opsctl.system.environment import cache_folder
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.retry import RetryPolicy

DEFAULT_DB = "opsctl-router.sqlite3"
DEFAULT_MAX_BODY = 1024 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def database_location(root: Path, env: Mapping[str, str], option: str | None) -> str:
    """The alert database: ``--db``, else ``OPSCTL_ROUTER_DB``, else the file in the repository."""
    return option or env.get("OPSCTL_ROUTER_DB") or str(root / DEFAULT_DB)


def seconds(text: str, what: str) -> float:
    """A duration a user typed (``10m``, ``1h``; ``0`` or ``off`` for none), in seconds."""
    from opsctl.model.spelling import parse_duration

    if text.strip().lower() in ("0", "off", "none"):
        return 0.0
    try:
        return parse_duration(text.strip()).total_seconds()
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class RouterSettings:
    root: Path
    database: str
    """A SQLite file path or a ``postgresql://`` URL."""
    credentials: Credentials = field(default_factory=Credentials)
    vendor: VendorConfig = field(default_factory=VendorConfig)
    routing_keys: Path | None = None
    site_dir: Path | None = None
    group_commit: bool = True
    """Commit many requests per fsync; False commits each on its own (the benchmark's naive variant)."""
    max_body_bytes: int = DEFAULT_MAX_BODY
    signature_window: float = 300.0
    """Seconds a signed request's timestamp may be away from the server's clock."""
    read_timeout: float = DEFAULT_READ_TIMEOUT
    """Seconds a client has to send a whole request (headers and body)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    policy: RoutingPolicy = field(default_factory=RoutingPolicy)
    pagerduty_events_per_minute: float = 120.0
    """PagerDuty's Events API limit per integration key, which the worker paces itself to."""
    expect_worker: bool = False
    """/readyz also checks that this server's delivery worker is alive (its heartbeat in the database)."""
    clock: Callable[[], datetime] = utc_now
    """The one clock of the server: the routing instant, the outbox's times, signature windows."""
    cache_dir: Path | None = None
    """Where public holidays are cached between runs; None asks the holiday library each start."""
    watchdog: bool = True
    """Run the freshness watchdog (on the one replica that holds its lease)."""
    watchdog_interval: float = 1.0
    """Seconds between two freshness checks."""

    @classmethod
    def from_env(
        cls,
        root: Path,
        env: Mapping[str, str],
        *,
        database: str | None = None,
        routing_keys: str | None = None,
        site_dir: str | None = None,
        refresh: str | None = None,
        group_window: str | None = None,
        **overrides: object,
    ) -> RouterSettings:
        keys = routing_keys or env.get("OPSCTL_ROUTING_KEYS_FILE")
        site = Path(site_dir) if site_dir else root / "site"
        if site_dir and not site.is_dir():
            raise UsageError(f"--site: {site_dir!r} is not a directory")
        raw_body = env.get("OPSCTL_ROUTER_MAX_BODY")
        try:
            max_body = int(raw_body) if raw_body else DEFAULT_MAX_BODY
        except ValueError:
            raise UsageError(f"OPSCTL_ROUTER_MAX_BODY: {raw_body!r} is not a number of bytes") from None
        refresh_text = refresh or env.get("OPSCTL_ROUTER_REFRESH")
        window_text = group_window or env.get("OPSCTL_ROUTER_GROUP_WINDOW")
        policy = RoutingPolicy(
            refresh=seconds(refresh_text, "--refresh") if refresh_text else DEFAULT_REFRESH,
            group_window=seconds(window_text, "--group-window") if window_text else DEFAULT_GROUP_WINDOW,
        )
        return cls(
            root=root,
            database=database_location(root, env, database),
            credentials=Credentials.from_env((*RECORDS, HEARTBEAT), env),
            vendor=VendorConfig.from_env(env),
            routing_keys=Path(keys) if keys else None,
            site_dir=site if site.is_dir() else None,
            max_body_bytes=max_body,
            policy=policy,
            cache_dir=Path(cache_folder(env)),
            **overrides,  # type: ignore[arg-type]
        )
