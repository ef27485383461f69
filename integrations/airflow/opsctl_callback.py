"""Airflow → opsctl: page a DAG's owner when a task fails, resolve when the DAG succeeds.

Copy this file next to your DAGs (it needs only the standard library) and attach it::

    from opsctl_callback import opsctl_on_failure, opsctl_on_success

    with DAG(
        "aggregate_profit_investors",
        default_args={"on_failure_callback": opsctl_on_failure},
        on_success_callback=opsctl_on_success,  # the DAG run succeeded: resolve its page
        ...,
    ):
        ...

The workers read two environment variables (or set ``OPSCTL_URL`` and ``OPSCTL_TOKEN``
below):

- ``OPSCTL_URL``: where ``opsctl serve`` listens, e.g. ``https://opsctl.internal:8080``
- ``OPSCTL_AIRFLOW_TOKEN``: the server's ``OPSCTL_WEBHOOK_TOKEN_AIRFLOW``

opsctl finds the pipeline by ``dag_id`` (``alerts.dag_ids`` in ownership.yaml). A callback
never raises into Airflow: when opsctl cannot be reached after a few tries, it logs and
returns, and the task's own failure stays visible in Airflow.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

OPSCTL_URL = ""
"""Set here to override the environment variable of the same name."""
OPSCTL_TOKEN = ""
ATTEMPTS = 3


def build_body(context: Mapping[str, Any], state: str = "failed") -> dict[str, Any]:
    """The body opsctl's airflow source reads, from a callback's context."""
    ti = context.get("task_instance") or context.get("ti")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    exception = context.get("exception")
    logical: Any = context.get("logical_date") or context.get("execution_date")
    body = {
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
        "task_id": getattr(ti, "task_id", None) if state == "failed" else None,
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "try_number": getattr(ti, "try_number", None) if state == "failed" else None,
        "state": state,
        "log_url": getattr(ti, "log_url", None) if state == "failed" else None,
        "logical_date": logical.isoformat() if hasattr(logical, "isoformat") else (str(logical) if logical else None),
        "exception": f"{type(exception).__name__}: {exception}" if exception is not None else None,
    }
    return {key: value for key, value in body.items() if value not in (None, "")}


def post(body: Mapping[str, Any], *, url: str | None = None, token: str | None = None, timeout: float = 10.0) -> bool:
    """POST ``body`` to opsctl; True once it answered 2xx. Retries network errors and 5xx briefly."""
    base = (url or OPSCTL_URL or os.environ.get("OPSCTL_URL", "")).rstrip("/")
    secret = token or OPSCTL_TOKEN or os.environ.get("OPSCTL_AIRFLOW_TOKEN", "")
    if not base or not secret:
        log.error("opsctl: set OPSCTL_URL and OPSCTL_AIRFLOW_TOKEN to page owners of failed DAGs")
        return False
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"}
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(f"{base}/v1/alerts/airflow", data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status: int = response.status
                return 200 <= status < 300
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # refused: a retry would be refused too
                log.error("opsctl refused the alert: %s %s", exc.code, exc.read(500).decode("utf-8", "replace"))
                return False
            log.warning("opsctl answered %s (attempt %d of %d)", exc.code, attempt, ATTEMPTS)
        except OSError as exc:
            log.warning("opsctl unreachable: %s (attempt %d of %d)", exc, attempt, ATTEMPTS)
        if attempt < ATTEMPTS:
            time.sleep(2 ** (attempt - 1))
    return False


def opsctl_on_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback``: a task failed."""
    post(build_body(context, "failed"))


def opsctl_on_success(context: Mapping[str, Any]) -> None:
    """``on_success_callback`` of the DAG: the run succeeded, which resolves an open page."""
    post(build_body(context, "success"))
