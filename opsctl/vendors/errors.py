"""Vendor client failures as one-line messages, and as :class:`~opsctl.errors.ServiceError`.

The ``pagerduty`` and ``slack_sdk`` libraries raise their own exception families (HTTP
errors carrying the response, transport errors, Slack's ``ok: false`` answers). The
edge turns them into a sentence naming the service, the request and the vendor's own
reason, with every token redacted, so users get an exit code and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opsctl.errors import ServiceError
from opsctl.vendors.config import VendorConfig


def _pagerduty_reason(response: Any) -> str:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return (response.text or "").strip()[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return json.dumps(body)[:200]
    details = [str(e) for e in error.get("errors") or []]
    message = str(error.get("message") or "")
    return message + (f" ({'; '.join(details)})" if details and details != [message] else "")


def vendor_error_text(exc: BaseException) -> str | None:
    """What went wrong, in one line, for an exception of a vendor client; None for anything else."""
    module = type(exc).__module__
    if module.startswith("pagerduty"):
        response = getattr(exc, "response", None)
        if response is not None and getattr(response, "status_code", None):
            request = response.request
            where = f"{request.method} {request.url.path}"
            status = response.status_code
            if status == 401:
                return f"PagerDuty refused the token ({where}: 401): check PAGERDUTY_TOKEN"
            if status == 403:
                return f"PagerDuty says the token may not do this ({where}: 403 {_pagerduty_reason(response)})"
            return f"PagerDuty answered {status} to {where}: {_pagerduty_reason(response)}"
        return f"PagerDuty request failed: {exc}"
    if module.startswith("httpx"):
        return f"cannot reach PagerDuty: {type(exc).__name__}: {exc}"
    if module.startswith("slack_sdk"):
        response = getattr(exc, "response", None)
        if response is not None:
            data = getattr(response, "data", None)
            error = data.get("error") if isinstance(data, dict) else None
            method = str(getattr(response, "api_url", "")).rstrip("/").rsplit("/", 1)[-1]
            extra = ""
            if isinstance(data, dict) and data.get("needed"):
                extra = f" (needs scope {data['needed']}; the token has {data.get('provided', 'none')})"
            if error == "invalid_auth" or error == "not_authed":
                return f"Slack refused the token ({method}: {error}): check SLACK_BOT_TOKEN"
            status = getattr(response, "status_code", 0)
            return f"Slack answered {method}: {error or f'HTTP {status}'}{extra}"
        return f"cannot reach Slack: {exc}"
    if module.startswith("urllib") or isinstance(exc, ConnectionError | TimeoutError):
        return f"network error: {exc}"  # slack_sdk's transport
    return None


@contextmanager
def service_errors(config: VendorConfig) -> Iterator[None]:
    """Vendor failures inside become :class:`ServiceError`; every message is redacted."""
    try:
        yield
    except ServiceError as exc:
        raise ServiceError(config.redact(str(exc))) from None
    except Exception as exc:
        text = vendor_error_text(exc)
        if text is None:
            raise
        raise ServiceError(config.redact(text)) from None
