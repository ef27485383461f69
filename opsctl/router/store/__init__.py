"""The router's database: every query of the router lives in this package.

:func:`open_store` gives a :class:`~.base.Store` for a SQLite file (the embedded default)
or a PostgreSQL URL (``postgresql://…``, for several replicas on one database). The
intake writes through :class:`~.writer.Writer` (group commit), the worker claims and
records deliveries, ``opsctl alerts`` reads and retries, and :meth:`~.base.Store.routed`
gives the routed alerts of a period as plain records, for on-call reports.
"""

from __future__ import annotations

from pathlib import Path

from opsctl.router.store.base import LEASE_SECONDS, STATES, Store
from opsctl.router.store.records import Accepted, AlertRow, Delivery, RoutedAlert, StoreUnavailable

__all__ = [
    "LEASE_SECONDS",
    "STATES",
    "Accepted",
    "AlertRow",
    "Delivery",
    "RoutedAlert",
    "Store",
    "StoreUnavailable",
    "open_store",
]


def open_store(where: str | Path) -> Store:
    """The store at ``where``: a ``postgresql://`` URL, else a SQLite file path."""
    text = str(where)
    from opsctl.router.store.postgres import PostgresStore, is_postgres_url

    if is_postgres_url(text):
        return PostgresStore(text)
    from opsctl.router.store.sqlite import SQLiteStore

    return SQLiteStore(Path(where))
