"""Running the router: uvicorn serving :func:`~opsctl.router.app.make_app` (with the read
deadline of :mod:`.http`), and the delivery worker in a process of its own, kept running by
:class:`~opsctl.router.supervisor.WorkerSupervisor`."""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from opsctl.router.settings import RouterSettings
from opsctl.router.supervisor import WorkerSupervisor
from opsctl.router.worker import WorkerConfig, worker_id

log = logging.getLogger("opsctl.router")


def serve(settings: RouterSettings, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); the worker stops after the server."""
    import uvicorn

    from opsctl.router.app import make_app
    from opsctl.router.http import server_config

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="opsctl serve: %(message)s")
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    app = make_app(replace(settings, expect_worker=True))  # opens the database: the schema exists before the worker starts
    keys = str(settings.routing_keys) if settings.routing_keys is not None else None
    config = WorkerConfig(
        settings.database,
        settings.vendor,
        keys,
        settings.retry,
        owner=worker_id(os.getpid()),
        events_per_minute=settings.pagerduty_events_per_minute,
    )
    supervisor = WorkerSupervisor(config)
    app.state.on_shutdown.append(supervisor.stop)
    for line in startup_notes(settings):
        log.warning(line)
    supervisor.start()
    try:
        log.info("listening on http://%s:%d (alerts in %s)", host, port, app.state.store.location)
        uvicorn.Server(server_config(app, host=host, port=port, read_timeout=settings.read_timeout, log_level=log_level)).run()
    finally:
        supervisor.stop()


def startup_notes(settings: RouterSettings) -> list[str]:
    """What an operator should know before the first alert comes in."""
    from opsctl.router.sources import RECORDS

    notes = []
    closed = [source.name for source in RECORDS if not settings.credentials.accepts(source)]
    if closed:
        notes.append(f"sources without a token or secret refuse every request: {', '.join(closed)} (see opsctl serve --help)")
    if settings.routing_keys is None:
        notes.append("no PagerDuty routing keys (OPSCTL_ROUTING_KEYS_FILE or --routing-keys): pages stay queued as failed")
    elif not settings.routing_keys.is_file():
        notes.append(f"routing keys file {settings.routing_keys} does not exist yet: pages stay queued as failed until it does")
    if settings.vendor.slack_token is None:
        notes.append("SLACK_BOT_TOKEN is not set: no Slack messages or DMs")
    return notes
