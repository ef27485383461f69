"""The router's database: every query of the router lives in this package.

:func:`open_store` gives a :class:`~.base.Store` for a SQLite file (the embedded default)
or a PostgreSQL URL (``postgresql://…``, for several replicas on one database);
:func:`reading` opens an existing one for a command that reads it (``opsctl alerts``,
``opsctl report``, the health page of ``opsctl runbooks render``). The
intake writes through :class:`~.writer.Writer` (group commit), the worker claims and
records deliveries, ``opsctl alerts`` reads and retries, and :meth:`~.base.Store.routed`
gives the routed alerts of a period as plain records, for on-call reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opsctl.router.store.base import LEASE_SECONDS, STATES, Store, first_line
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
    "exists",
    "open_store",
    "reading",
]


def open_store(where: str | Path) -> Store:
    """The store at ``where``: a ``postgresql://`` URL, else a SQLite file path."""
    text = str(where)
    from opsctl.router.store.postgres import PostgresStore, is_postgres_url

    if is_postgres_url(text):
        return PostgresStore(text)
    from opsctl.router.store.sqlite import SQLiteStore

    return SQLiteStore(Path(where))


def exists(where: str | Path) -> bool:
    """Whether there is a database at ``where`` to read: a SQLite file that exists, or any
    PostgreSQL URL (whether its server answers is found out by connecting)."""
    from opsctl.router.store.postgres import is_postgres_url

    return is_postgres_url(str(where)) or Path(where).is_file()


@contextmanager
def reading(where: str | Path, *, option: str = "--db") -> Iterator[tuple[Store, Any]]:
    """The store at ``where`` (a SQLite file or a ``postgresql://`` URL) and a connection to
    it, for a command that reads (or retries) what ``opsctl serve`` stored.

    Every failure is one line for the user: :class:`~opsctl.errors.UsageError` when there
    is no such file (naming the command's ``option`` that points at another) or the server
    cannot be reached, :class:`~opsctl.errors.ServiceError` when a query fails on the way.
    """
    from opsctl.errors import ServiceError, UsageError

    if not exists(where):
        raise UsageError(f"no alert database at {where}: opsctl serve creates it ({option} or OPSCTL_ROUTER_DB point at another)")
    store = open_store(where)
    try:
        try:
            conn = store.connect(durable=False)
        except store.errors as exc:
            raise UsageError(f"{store.location}: cannot open the alert database: {first_line(exc)}") from None
        try:
            yield store, conn
        except store.errors as exc:
            raise ServiceError(f"{store.location}: the alert database failed: {first_line(exc)}") from None
        finally:
            store.release(conn)
    finally:
        store.close()
