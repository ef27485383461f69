"""The alert router behind ``opsctl serve``: alerts in, pages and Slack messages out, durably.

::

    source payload ──sources/──▶ Alert ──routing: decide (matching) → what is open? → plan──▶ store/ (one transaction)
                                                                                                    │
                          PagerDuty Events v2, Slack ◀──delivery── worker (claims, retries, pacing) ◀┘

- :mod:`.sources` holds one record per alert source: its parser (pure), authentication,
  body schema and docs; the intake, :mod:`.openapi`, :mod:`.security` and the CLI read them.
- :mod:`.matching` finds the pipeline and computes the escalation chain (pure: org, engine,
  instant, alert in; a :class:`~.matching.Decision` out).
- :mod:`.routing` is the one decide → plan path of the server and of ``opsctl route``:
  what is open comes from a lookup (the store's, or a dry run's); it groups failures that
  share a data source.
- :mod:`.plan` turns a decision and the incident it belongs to into the messages to send,
  coalescing repeats (pure).
- :mod:`.store` holds every query, for SQLite and PostgreSQL: accepting (group commit,
  :mod:`.store.writer`), claiming and recording deliveries, reading for ``opsctl alerts``
  and for on-call reports.
- :mod:`.worker` sends what the store holds, with per-probe back-off, Retry-After and
  pacing per routing key; :mod:`.delivery` makes one attempt; :mod:`.supervisor` runs the
  worker's process and restarts it with back-off.
- :mod:`.freshness` decides which pipelines went silent past their SLA (pure); the loop of
  :mod:`.watchdog` runs it each second on the replica holding its lease, and stores what it
  raises through the intake's writer (:func:`.intake.raise_stale`), as alerts;
  :mod:`.heartbeat` is ``POST /v1/heartbeats/{pipeline}``.
- :mod:`.app` is the ASGI app (``make_app(settings)``); :mod:`.server` runs it (with the
  read deadline of :mod:`.http`) beside the worker.

Heavy imports (Starlette, uvicorn, the vendor clients, psycopg) stay in the modules that
use them, so nothing here slows ``opsctl whoisoncall``.
"""
