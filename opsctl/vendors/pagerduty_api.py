"""PagerDuty clients from PagerDuty's maintained ``pagerduty`` library.

Two changes to the library's behaviour, both in :class:`_Policy`:

- its ``url`` setter refuses anything but https; ours also accepts http on loopback hosts
  (see :func:`opsctl.vendors.config.check_base_url`), for local fakes and proxies;
- it retries status 429 without limit and ignores ``Retry-After``; ours honours
  ``Retry-After`` (else backs off exponentially with jitter) and gives up after
  ``max_attempts``, returning the last response for the caller to handle. Other statuses
  are returned at once, as the library does; network errors are retried the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsctl.vendors.config import VendorConfig, check_base_url
from opsctl.vendors.retry import RetryPolicy, retry_after_seconds

if TYPE_CHECKING:
    from pagerduty import EventsApiV2Client, RestApiV2Client


class _Policy:
    """Mixed into the library's clients: loopback http and a bounded, Retry-After-aware loop."""

    max_attempts = 5
    """Attempts per request, the first included; 1 returns the first 429 at once."""
    backoff = RetryPolicy(base=0.5, cap=30.0)
    """Waits between attempts when the service does not say (``max_attempts`` above counts)."""
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    _url: str

    @property
    def url(self) -> str:
        return str(self._url)

    @url.setter
    def url(self, new_base_url: str) -> None:
        self._url = check_base_url("PagerDuty API URL", new_base_url)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        from httpx2 import Client, TransportError

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
        for attempt in range(1, self.max_attempts + 1):
            delay = self.backoff.delay(attempt)
            try:
                response = Client.request(client, method, full_url, **request_kwargs)
            except TransportError:
                if attempt == self.max_attempts:
                    raise
                self.sleep(delay)
                continue
            client.postprocess(response)
            if response.status_code != 429 or attempt == self.max_attempts:
                return response
            self.sleep(retry_after_seconds(response.headers.get("Retry-After"), delay))
        raise AssertionError("unreachable")  # pragma: no cover


def rest_client(config: VendorConfig, *, max_attempts: int = 5) -> RestApiV2Client:
    """A REST API v2 client for ``config``'s token and base URL."""
    from pagerduty import RestApiV2Client

    from opsctl.errors import UsageError

    if not config.pagerduty_token:
        raise UsageError("PAGERDUTY_TOKEN is not set: export a PagerDuty REST API token")

    class Rest(_Policy, RestApiV2Client):  # type: ignore[misc]
        pass

    client = Rest(config.pagerduty_token, base_url=config.pagerduty_api_url)
    client.max_attempts = max_attempts
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
