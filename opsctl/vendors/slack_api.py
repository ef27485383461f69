"""The Slack Web API client from ``slack-sdk``: paced per method tier, retried while transient.

Slack limits each Web API method per workspace by tier ("Rate limits", docs.slack.dev/apis/
web-api/rate-limits: Tier 1 1+ a minute, Tier 2 20+, Tier 3 50+, Tier 4 100+, and
``chat.postMessage`` about one message a second per channel) and answers HTTP 429 with a
``Retry-After`` header when a method is called too fast. With a
:class:`~opsctl.vendors.pacing.Pacer` (sync, notify, doctor) each call first waits for its
method's budget (:data:`METHOD_TIERS`, from each method's reference page, kept a tenth
under the tier so that bursts stay inside it), and a 429 or a 503 is waited out within the
pacer's patience. Without one (the alert router) a 429 is retried ``rate_limit_retries``
times by slack_sdk's own handler, as before.

Proxies: slack_sdk reads ``HTTPS_PROXY``/``HTTP_PROXY`` itself but ignores ``NO_PROXY``;
the clients made here leave the choice to Python's urllib instead, which honours all three,
as the PagerDuty client (httpx2) does.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from opsctl.vendors.config import VendorConfig
from opsctl.vendors.pacing import Budget, Clock, Pacer, SystemClock, Waiting

if TYPE_CHECKING:
    from slack_sdk import WebClient

METHOD_TIERS: dict[str, int] = {
    # requests a minute per workspace, from each method's page on docs.slack.dev/reference/methods
    "auth.test": 100,  # special tier, "thousands per hour": treated as Tier 4
    "users.list": 20,  # Tier 2
    "users.info": 100,  # Tier 4
    "users.lookupByEmail": 50,  # Tier 3
    "usergroups.list": 20,  # Tier 2
    "usergroups.create": 20,  # Tier 2
    "usergroups.update": 20,  # Tier 2
    "usergroups.users.update": 20,  # Tier 2
    "conversations.list": 20,  # Tier 2
    "conversations.setTopic": 20,  # Tier 2
    "conversations.history": 50,  # Tier 3 (internal apps; see the method page for Marketplace rules)
    "conversations.open": 50,  # Tier 3
    "chat.postMessage": 60,  # special: about one a second per channel
}
DEFAULT_TIER = 20
"""A method not listed above is paced as Tier 2, the most common tier."""


def method_budget(method: str) -> Budget:
    """Nine tenths of the method's tier a minute, with bursts of a tenth: at most the tier in any minute."""
    tier = METHOD_TIERS.get(method, DEFAULT_TIER)
    burst = max(1.0, tier / 10)
    return Budget((tier - burst) / 60.0, burst)


def slack_pacer(clock: Clock | None = None, *, on_wait: Waiting | None = None, patience: float = 600.0) -> Pacer:
    """A pacer for one Slack workspace: a budget per method, made on first use from :data:`METHOD_TIERS`."""
    return Pacer(
        {name: method_budget(name) for name in METHOD_TIERS}, patience=patience, clock=clock or SystemClock(), on_wait=on_wait
    )


RETRIED_WRITES = frozenset({"usergroups.update", "usergroups.users.update", "conversations.setTopic"})
"""Writes that give the same result when repeated; others (creates, posts) are not sent twice after a 5xx."""


def _paced_client_class() -> type[WebClient]:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    class PacedWebClient(WebClient):
        """A WebClient whose calls wait for their method's budget and ride out 429s and 503s."""

        pacer: Pacer

        def api_call(self, api_method: str, **kwargs: Any) -> Any:
            failures = 0
            first_failure = 0.0
            while True:
                sent_at = self.pacer.before(api_method)
                try:
                    return super().api_call(api_method, **kwargs)
                except SlackApiError as exc:
                    status = int(getattr(exc.response, "status_code", 0) or 0)
                    error = exc.response.get("error") if hasattr(exc.response, "get") else None
                    rate_limited = status == 429 or error == "ratelimited"
                    repeatable = rate_limited or status == 503 or (status >= 500 and api_method in RETRIED_WRITES)
                    if not repeatable:
                        raise
                    failures += 1
                    first_failure = first_failure if failures > 1 else sent_at
                    told = _retry_after(exc.response) if rate_limited else None
                    if not self.pacer.retry_wait(
                        api_method, failures=failures, first_failure=first_failure, rate_limited=rate_limited, told=told
                    ):
                        raise

    return PacedWebClient


def _retry_after(response: Any) -> float | None:
    from opsctl.vendors.retry import retry_after_seconds

    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            seconds = retry_after_seconds(str(raw), -1.0)
            return seconds if seconds >= 0 else None
    return None


def slack_client(
    config: VendorConfig, *, rate_limit_retries: int = 3, timeout: int = 10, pacer: Pacer | None = None
) -> WebClient:
    """A Web API client for ``config``'s bot token and base URL (paced by ``pacer`` when given)."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

    from opsctl.errors import UsageError

    if not config.slack_token:
        raise UsageError("SLACK_BOT_TOKEN is not set: export a Slack bot token")
    base = config.slack_api_url if config.slack_api_url.endswith("/") else config.slack_api_url + "/"
    client: WebClient
    if pacer is not None:
        client = _paced_client_class()(
            token=config.slack_token,
            base_url=base,
            timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2)],
        )
        client.pacer = pacer  # type: ignore[attr-defined]
    else:
        client = WebClient(
            token=config.slack_token,
            base_url=base,
            timeout=timeout,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2),
                RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            ],
        )
    # urllib decides the proxy (HTTPS_PROXY, NO_PROXY) and the CAs (SSL_CERT_FILE, SSL_CERT_DIR)
    # afresh for this client: with a context of its own, each request builds its opener from
    # the environment instead of reusing urllib's process-wide one
    client.proxy = None
    client.ssl = ssl.create_default_context()
    return client


def pages(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of a cursor-paginated Slack method, a page of 200 at a time.

    Slack's "Pagination" guide (docs.slack.dev/apis/web-api/pagination): a page may hold
    fewer items than ``limit`` even when more follow; only an empty
    ``response_metadata.next_cursor`` ends the list.
    """
    cursor = ""
    while True:
        page = call(**kwargs, limit=200, **({"cursor": cursor} if cursor else {}))
        yield from page.get(key) or []
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return
