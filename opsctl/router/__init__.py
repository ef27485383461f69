"""The alert router behind ``opsctl serve``: alerts in, pages and Slack messages out, durably.

::

    source payload ──sources/──▶ Alert ──matching──▶ Decision (pipeline, chain) ──outbox──▶ SQLite
                                                                                      │
                          PagerDuty Events v2, Slack ◀──delivery── worker (retries) ◀─┘

- :mod:`.sources` turns each source's body into :class:`~.alert.Alert` values (pure).
- :mod:`.matching` finds the pipeline and computes the SPEC §6 chain (pure: org, engine,
  instant, alert in; a :class:`~.matching.Decision` out).
- :mod:`.plan` turns a decision and the incident it belongs to into the messages to send.
- :mod:`.outbox` stores alert and messages in one transaction, many requests per fsync.
- :mod:`.worker` sends what the outbox holds, with backoff, jitter and Retry-After.
- :mod:`.app` is the ASGI app (``make_app(settings)``); :mod:`.server` runs it with the worker.

Heavy imports (Starlette, uvicorn, the vendor clients) stay in :mod:`.app`, :mod:`.server`
and :mod:`.delivery`, so nothing here slows ``opsctl whoisoncall``.
"""
