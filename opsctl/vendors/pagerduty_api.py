"""PagerDuty clients from PagerDuty's maintained ``pagerduty`` library.

Two changes to the library's behaviour, both in :class:`_Policy`:

- its ``url`` setter refuses anything but https; ours also accepts http on loopback hosts
  (see :func:`opsctl.vendors.config.check_base_url`), for local fakes and proxies;
- it retries status 429 without limit and ignores PagerDuty's rate-limit headers; ours
  honours ``Retry-After`` and, where PagerDuty sends no ``Retry-After``, its documented
  ``ratelimit-reset`` (seconds until the window resets; PagerDuty's "REST API Rate
  Limits" page: "If your application is being rate limited, the ratelimit-reset header
  will let you know how many seconds to wait before retrying").

With a :class:`~opsctl.vendors.pacing.Pacer` (what sync passes) every request first
waits for its turn in the token's budget (960 requests a minute per user or account API
key, PagerDuty's published REST limit), ``ratelimit-remaining``/``ratelimit-reset`` on
each answer tighten that budget, and transient failures are retried for as long as the
pacer's patience lasts. Requests that may have been carried out before the failure (a
POST answered 500, 502 or 504, or cut off mid-answer) are not sent again: the caller
finds out on its next read whether the object was made. Without a pacer (the alert
router's Events API client) a 429 is retried at most ``max_attempts`` times and other
answers are returned at once, for the caller's own retry schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opsctl.vendors.config import VendorConfig, check_base_url
from opsctl.vendors.pacing import Budget, Clock, Pacer, SystemClock, Waiting
from opsctl.vendors.retry import RetryPolicy, retry_after_seconds

if TYPE_CHECKING:
    from pagerduty import EventsApiV2Client, RestApiV2Client

REST_REQUESTS_PER_MINUTE = 960
"""PagerDuty's REST API limit per API key (per user, for user keys)."""
BUDGET = "rest"


def rate_limit_headers(headers: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(remaining, reset_in) from PagerDuty's ``ratelimit-remaining`` and ``ratelimit-reset`` headers."""

    def number(name: str) -> float | None:
        value = headers.get(name)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    return number("ratelimit-remaining"), number("ratelimit-reset")


def told_to_wait(headers: Mapping[str, Any]) -> float | None:
    """How long a 429 asks to wait: ``Retry-After``, else ``ratelimit-reset``; None when it does not say."""
    retry_after = retry_after_seconds(headers.get("Retry-After"), -1.0)
    if retry_after >= 0:
        return retry_after
    _, reset_in = rate_limit_headers(headers)
    return reset_in


def _may_have_happened(method: str, status: int | None) -> bool:
    """Whether a failed request may have been carried out anyway (so sending it again could do it twice)."""
    if method in ("GET", "PUT", "DELETE"):
        return False  # reads, and writes that give the same result when repeated
    return status not in (429, 503)


def rest_pacer(clock: Clock | None = None, *, on_wait: Waiting | None = None, patience: float = 600.0) -> Pacer:
    """A pacer for one PagerDuty REST API key: its per-minute budget, waits on ``clock``."""
    return Pacer(
        {BUDGET: Budget.per_minute(REST_REQUESTS_PER_MINUTE)},
        patience=patience,
        clock=clock or SystemClock(),
        on_wait=on_wait,
    )


class _Policy:
    """Mixed into the library's clients: loopback http, pacing, a bounded header-aware retry loop."""

    max_attempts = 5
    """Without a pacer: attempts per request, the first included; 1 returns the first 429 at once."""
    backoff = RetryPolicy(base=0.5, cap=30.0)
    """Without a pacer: waits between attempts when the service does not say."""
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    pacer: Pacer | None = None
    _url: str

    @property
    def url(self) -> str:
        return str(self._url)

    @url.setter
    def url(self, new_base_url: str) -> None:
        self._url = check_base_url("PagerDuty API URL", new_base_url)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        method = method.strip().upper()
        client: Any = self
        if method not in client.permitted_methods:
            raise ValueError(f"method {method} is not supported by this API")
        request_kwargs = dict(kwargs)
        request_kwargs.update(
            headers=client.prepare_headers(method, user_headers=kwargs.get("headers", {})),
            timeout=client.timeout,
            auth=None,
            follow_redirects=False,
        )
        if method in ("POST", "PUT", "PATCH"):
            for body_key in ("json", "data"):
                if isinstance(request_kwargs.get(body_key), dict):
                    request_kwargs[body_key] = {**request_kwargs[body_key], **client.auth_method.auth_param}
        if kwargs.get("params"):
            request_kwargs["params"] = client.normalize_params(kwargs["params"])
        full_url = client.normalize_url(url)
        if self.pacer is not None:
            return self._paced(self.pacer, method, full_url, request_kwargs)
        return self._bounded(method, full_url, request_kwargs)

    def _send(self, method: str, url: str, request_kwargs: dict[str, Any]) -> Any:
        from httpx2 import Client

        response = Client.request(self, method, url, **request_kwargs)  # type: ignore[arg-type]
        self.postprocess(response)  # type: ignore[attr-defined]
        return response

    def _bounded(self, method: str, url: str, request_kwargs: dict[str, Any]) -> Any:
        from httpx2 import TransportError

        for attempt in range(1, self.max_attempts + 1):
            delay = self.backoff.delay(attempt)
            try:
                response = self._send(method, url, request_kwargs)
            except TransportError:
                if attempt == self.max_attempts:
                    raise
                self.sleep(delay)
                continue
            if response.status_code != 429 or attempt == self.max_attempts:
                return response
            told = told_to_wait(response.headers)
            self.sleep(told if told is not None else delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _paced(self, pacer: Pacer, method: str, url: str, request_kwargs: dict[str, Any]) -> Any:
        from httpx2 import ConnectError, ConnectTimeout, TransportError

        failures = 0
        first_failure = 0.0
        while True:
            sent_at = pacer.before(BUDGET)
            try:
                response = self._send(method, url, request_kwargs)
            except TransportError as exc:
                never_sent = isinstance(exc, ConnectError | ConnectTimeout)
                if not never_sent and _may_have_happened(method, None):
                    raise
                failures += 1
                first_failure = first_failure if failures > 1 else sent_at
                if not pacer.retry_wait(BUDGET, failures=failures, first_failure=first_failure, rate_limited=False, told=None):
                    raise
                continue
            remaining, reset_in = rate_limit_headers(response.headers)
            pacer.after_response(BUDGET, remaining=remaining, reset_in=reset_in)
            status = int(response.status_code)
            transient = status == 429 or status == 408 or status >= 500
            if not transient or _may_have_happened(method, status):
                return response
            failures += 1
            first_failure = first_failure if failures > 1 else sent_at
            told = told_to_wait(response.headers) if status == 429 else None
            if not pacer.retry_wait(
                BUDGET, failures=failures, first_failure=first_failure, rate_limited=status == 429, told=told
            ):
                return response


def rest_client(config: VendorConfig, *, max_attempts: int = 5, pacer: Pacer | None = None) -> RestApiV2Client:
    """A REST API v2 client for ``config``'s token and base URL (paced by ``pacer`` when given)."""
    from pagerduty import RestApiV2Client

    from opsctl.errors import UsageError

    if not config.pagerduty_token:
        raise UsageError("PAGERDUTY_TOKEN is not set: export a PagerDuty REST API token")

    class Rest(_Policy, RestApiV2Client):  # type: ignore[misc]
        pass

    client = Rest(config.pagerduty_token, base_url=config.pagerduty_api_url)
    client.max_attempts = max_attempts
    client.pacer = pacer
    return client


def events_client(routing_key: str, config: VendorConfig, *, max_attempts: int = 1) -> EventsApiV2Client:
    """An Events API v2 client for one routing key; by default it returns a 429 at once
    so that the caller's own retry schedule decides when to try again."""
    from pagerduty import EventsApiV2Client

    class Events(_Policy, EventsApiV2Client):  # type: ignore[misc]
        pass

    client = Events(routing_key, base_url=config.pagerduty_events_url)
    client.max_attempts = max_attempts
    return client
