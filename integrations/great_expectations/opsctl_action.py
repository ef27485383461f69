"""Great Expectations → opsctl: page a suite's pipeline owner when a checkpoint fails.

Copy this file where your checkpoints run (standard library only, plus GX itself for the
action class) and add the action (GX Core 1.x)::

    import great_expectations as gx
    from opsctl_action import OpsctlAction

    checkpoint = gx.Checkpoint(
        name="engagement_daily",
        validation_definitions=[...],
        actions=[OpsctlAction(name="page_owner", url="https://opsctl.internal:8080", token="...")],
    )

``token`` is the server's ``OPSCTL_WEBHOOK_TOKEN_GREAT_EXPECTATIONS`` (or leave it empty and
set ``OPSCTL_GE_TOKEN``; ``url`` likewise falls back to ``OPSCTL_URL``). opsctl finds the
pipeline by suite name (``alerts.expectation_suites`` in ownership.yaml). Every validation
is reported, passing ones too, so a suite that passes again resolves its page.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Literal

log = logging.getLogger(__name__)


def bodies(checkpoint_result: Any) -> list[dict[str, Any]]:
    """One body per validation of a ``CheckpointResult`` (read by attribute, so any GX 1.x result works)."""
    out = []
    checkpoint = getattr(getattr(checkpoint_result, "checkpoint_config", None), "name", None)
    run_id = getattr(checkpoint_result, "run_id", None)
    run_name = getattr(run_id, "run_name", None) or (str(run_id) if run_id else None)
    run_time: Any = getattr(run_id, "run_time", None)
    for identifier, result in (getattr(checkpoint_result, "run_results", None) or {}).items():
        meta = getattr(result, "meta", None) or {}
        batch = meta.get("active_batch_definition") or {}
        asset = batch.get("data_asset_name") if isinstance(batch, Mapping) else getattr(batch, "data_asset_name", None)
        failed = []
        for item in getattr(result, "results", None) or []:
            if getattr(item, "success", True):
                continue
            config = getattr(item, "expectation_config", None)
            kwargs = getattr(config, "kwargs", None) or {}
            failed.append({"type": str(getattr(config, "type", None) or "expectation"), "column": kwargs.get("column")})
        body = {
            "suite": getattr(result, "suite_name", None) or str(getattr(identifier, "expectation_suite_identifier", "")),
            "success": bool(getattr(result, "success", False)),
            "asset": str(asset) if asset else None,
            "checkpoint": checkpoint,
            "run_id": run_name,
            "run_time": run_time.isoformat() if hasattr(run_time, "isoformat") else None,
            "failed_expectations": [{k: v for k, v in f.items() if v is not None} for f in failed],
        }
        out.append({key: value for key, value in body.items() if value is not None})
    return out


def post(body: Mapping[str, Any], *, url: str = "", token: str = "", timeout: float = 10.0) -> bool:
    """POST one body; True on 2xx. Never raises: a checkpoint must not fail for its pager."""
    base = (url or os.environ.get("OPSCTL_URL", "")).rstrip("/")
    secret = token or os.environ.get("OPSCTL_GE_TOKEN", "")
    if not base or not secret:
        log.error("opsctl: set the action's url and token (or OPSCTL_URL and OPSCTL_GE_TOKEN)")
        return False
    request = urllib.request.Request(
        f"{base}/v1/alerts/great-expectations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return 200 <= status < 300
    except urllib.error.HTTPError as exc:
        log.error("opsctl refused the validation result: %s %s", exc.code, exc.read(500).decode("utf-8", "replace"))
    except OSError as exc:
        log.error("opsctl unreachable: %s", exc)
    return False


try:
    from great_expectations.checkpoint.actions import ValidationAction  # type: ignore[import-not-found]
except ImportError:  # GX not installed here: bodies() and post() still work on their own
    pass
else:

    class OpsctlAction(ValidationAction):  # type: ignore[misc]
        """Checkpoint action: report each validation to ``opsctl serve``."""

        type: Literal["opsctl"] = "opsctl"
        url: str = ""
        token: str = ""

        def run(self, checkpoint_result: Any, action_context: Any = None) -> dict[str, Any]:
            sent = [post(body, url=self.url, token=self.token) for body in bodies(checkpoint_result)]
            return {"opsctl": {"sent": sum(sent), "not_sent": len(sent) - sum(sent)}}
