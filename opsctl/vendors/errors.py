"""One typed error for every remote service failure: :class:`VendorError`.

The ``pagerduty`` and ``slack_sdk`` libraries raise their own exception families (HTTP
errors carrying the response, transport errors, Slack's ``ok: false`` answers), and the
PagerDuty Events API answers with a status the caller reads. Everything that talks to a
vendor turns what it met into a :class:`VendorError` here and nowhere else, so callers
act on fields, never on exception types or messages:

- ``service``: ``"PagerDuty"`` or ``"Slack"``;
- ``status``: the HTTP status, None for a network error;
- ``code``: a short stable name (``http-503``, ``network``, ``rate-limited``, Slack's own
  error such as ``not_in_channel``);
- ``transient``: True when the same request may succeed later (429, 5xx, 408, network);
  False when a person must change something first;
- ``retry_after``: seconds the service asked to wait, when it said;
- ``hint``: what to do about it, when there is something to say.

``str(error)`` is one line for a user, with every token redacted by the caller's
:class:`~opsctl.vendors.config.VendorConfig`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opsctl.errors import ServiceError
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.retry import retry_after_seconds


class VendorError(ServiceError):
    """A remote service refused or failed a request; the fields say how to act on it."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status: int | None = None,
        code: str = "",
        transient: bool = False,
        retry_after: float | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status
        self.code = code or (f"http-{status}" if status else "network")
        self.transient = transient
        self.retry_after = retry_after
        self.hint = hint

    def with_message(self, message: str) -> VendorError:
        """The same error, told differently (e.g. with what was being done when it happened)."""
        return VendorError(
            message,
            service=self.service,
            status=self.status,
            code=self.code,
            transient=self.transient,
            retry_after=self.retry_after,
            hint=self.hint,
        )


def transient_status(status: int) -> bool:
    """Whether an HTTP status means "try the same request again later"."""
    return status == 429 or status == 408 or status >= 500


# Slack errors that a later attempt may not meet again; the others need a person.
SLACK_TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
SLACK_HINTS = {
    "channel_not_found": "no such channel, or the bot cannot see it: fix slack_channel in ownership.yaml or invite the bot",
    "not_in_channel": "invite the opsctl bot to the channel",
    "is_archived": "the channel is archived: set another slack_channel",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid",
    "not_authed": "SLACK_BOT_TOKEN is not set",
    "missing_scope": "the bot token lacks a scope (chat:write, im:write, users:read.email, channels:read)",
    "users_not_found": "no Slack user has this person's email: set slack_id in ownership.yaml",
    "user_not_found": "the Slack user does not exist: fix slack_id in ownership.yaml",
}


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


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return None if value is None else str(value)


def pagerduty_http_error(response: Any) -> VendorError:
    """The error for a PagerDuty REST response that is not a success."""
    request = response.request
    where = f"{request.method} {request.url.path}"
    status = int(response.status_code)
    retry_after = retry_after_seconds(_header(response.headers, "Retry-After"), -1.0)
    fields: dict[str, Any] = {
        "service": "PagerDuty",
        "status": status,
        "transient": transient_status(status),
        "retry_after": retry_after if retry_after >= 0 else None,
    }
    if status == 401:
        return VendorError(
            f"PagerDuty refused the token ({where}: 401): check PAGERDUTY_TOKEN", hint="check PAGERDUTY_TOKEN", **fields
        )
    if status == 403:
        return VendorError(f"PagerDuty says the token may not do this ({where}: 403 {_pagerduty_reason(response)})", **fields)
    return VendorError(f"PagerDuty answered {status} to {where}: {_pagerduty_reason(response)}", **fields)


def slack_api_error(response: Any) -> VendorError:
    """The error for a Slack Web API answer with ``ok: false`` (or a failed HTTP status)."""
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    status = int(getattr(response, "status_code", 0) or 0)
    method = str(getattr(response, "api_url", "")).rstrip("/").rsplit("/", 1)[-1]
    code = str(error or f"http-{status}")
    extra = ""
    if isinstance(data, dict) and data.get("needed"):
        extra = f" (needs scope {data['needed']}; the token has {data.get('provided', 'none')})"
    rate_limited = status == 429 or code == "ratelimited"
    retry_after = retry_after_seconds(_header(getattr(response, "headers", None), "Retry-After"), -1.0)
    fields: dict[str, Any] = {
        "service": "Slack",
        "status": status or None,
        "code": "rate-limited" if rate_limited else code,
        "transient": rate_limited or code in SLACK_TRANSIENT or status >= 500,
        "retry_after": retry_after if rate_limited and retry_after >= 0 else None,
        "hint": SLACK_HINTS.get(code, ""),
    }
    if error in ("invalid_auth", "not_authed"):
        return VendorError(f"Slack refused the token ({method}: {error}): check SLACK_BOT_TOKEN", **fields)
    return VendorError(f"Slack answered {method}: {error or f'HTTP {status}'}{extra}", **fields)


def _classes(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """The exception classes ``names`` of ``module`` if it is loaded (an exception of a library
    that was never imported cannot be raised, so nothing is imported here)."""
    loaded = sys.modules.get(module)
    return tuple(getattr(loaded, name) for name in names if loaded is not None and hasattr(loaded, name))


def vendor_error(exc: BaseException) -> VendorError | None:
    """The :class:`VendorError` for an exception raised by a vendor client; None for anything else."""
    if isinstance(exc, VendorError):
        return exc
    if isinstance(exc, _classes("pagerduty.errors", "Error") + _classes("pagerduty", "Error")):
        response = getattr(exc, "response", None)
        if response is not None and getattr(response, "status_code", None):
            return pagerduty_http_error(response)
        return VendorError(f"PagerDuty request failed: {exc}", service="PagerDuty", transient=True)
    if isinstance(exc, _classes("httpx2", "TransportError") + _classes("httpx", "TransportError")):
        return VendorError(f"cannot reach PagerDuty: {type(exc).__name__}: {exc}", service="PagerDuty", transient=True)
    if isinstance(exc, _classes("slack_sdk.errors", "SlackApiError")):
        return slack_api_error(exc.response)  # type: ignore[attr-defined]
    if isinstance(exc, _classes("slack_sdk.errors", "SlackRequestError", "SlackClientError")):
        return VendorError(f"cannot reach Slack: {exc}", service="Slack", transient=True)
    if isinstance(exc, (*_classes("urllib.error", "URLError"), ConnectionError, TimeoutError)):
        return VendorError(f"network error: {exc}", service="Slack", transient=True)  # slack_sdk's transport
    return None


@contextmanager
def translated(config: VendorConfig | None = None) -> Iterator[None]:
    """Vendor client failures inside become :class:`VendorError`; other exceptions pass
    through. With ``config``, every message is redacted of its tokens (the edges pass it)."""
    try:
        yield
    except VendorError as exc:
        raise (exc if config is None else exc.with_message(config.redact(exc.message))) from None
    except ServiceError as exc:
        raise (exc if config is None else ServiceError(config.redact(str(exc)))) from None
    except Exception as exc:
        found = vendor_error(exc)
        if found is None:
            raise
        raise (found if config is None else found.with_message(config.redact(found.message))) from None
