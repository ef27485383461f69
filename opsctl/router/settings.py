"""How ``opsctl serve`` is configured: options first, then the environment.

==============================  =============================================================
``OPSCTL_ROUTER_DB``             the alert database (default ``opsctl-router.sqlite3`` in the
                                 ops repository; ``*.sqlite3`` is git-ignored)
``OPSCTL_ROUTING_KEYS_FILE``     PagerDuty routing keys (see :mod:`.routing_keys`)
``OPSCTL_ROUTER_MAX_BODY``       body size cap in bytes (default 1 MiB)
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
from opsctl.router.security import Credentials
from opsctl.router.sources import SOURCES
from opsctl.system.environment import cache_folder
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.retry import RetryPolicy

DEFAULT_DB = "opsctl-router.sqlite3"
DEFAULT_MAX_BODY = 1024 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RouterSettings:
    root: Path
    db_path: Path
    credentials: Credentials = field(default_factory=Credentials)
    vendor: VendorConfig = field(default_factory=VendorConfig)
    routing_keys: Path | None = None
    site_dir: Path | None = None
    group_commit: bool = True
    """Commit many requests per fsync; False commits each on its own (the benchmark's naive variant)."""
    max_body_bytes: int = DEFAULT_MAX_BODY
    signature_window: float = 300.0
    """Seconds a signed request's timestamp may be away from the server's clock."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    expect_worker: bool = False
    """/readyz also checks that a delivery worker is alive (its heartbeat in the database)."""
    clock: Callable[[], datetime] = utc_now
    cache_dir: Path | None = None
    """Where public holidays are cached between runs; None asks the holiday library each start."""

    @classmethod
    def from_env(
        cls,
        root: Path,
        env: Mapping[str, str],
        *,
        db_path: str | None = None,
        routing_keys: str | None = None,
        site_dir: str | None = None,
        **overrides: object,
    ) -> RouterSettings:
        db = Path(db_path or env.get("OPSCTL_ROUTER_DB") or root / DEFAULT_DB)
        keys = routing_keys or env.get("OPSCTL_ROUTING_KEYS_FILE")
        site = Path(site_dir) if site_dir else root / "site"
        if site_dir and not site.is_dir():
            raise UsageError(f"--site: {site_dir!r} is not a directory")
        raw_body = env.get("OPSCTL_ROUTER_MAX_BODY")
        try:
            max_body = int(raw_body) if raw_body else DEFAULT_MAX_BODY
        except ValueError:
            raise UsageError(f"OPSCTL_ROUTER_MAX_BODY: {raw_body!r} is not a number of bytes") from None
        return cls(
            root=root,
            db_path=db,
            credentials=Credentials.from_env(SOURCES, env),
            vendor=VendorConfig.from_env(env),
            routing_keys=Path(keys) if keys else None,
            site_dir=site if site.is_dir() else None,
            max_body_bytes=max_body,
            cache_dir=Path(cache_folder(env)),
            **overrides,  # type: ignore[arg-type]
        )
